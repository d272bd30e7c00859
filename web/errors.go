package web

import (
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"roster/handlers"
	"roster/views"
)

// Each surface renders its own failures, chosen where its routes are
// mounted: the op endpoint the protocol's envelope (protocolErrors), the
// event stream a plain status (plainStatus), the dashboard a message inside
// its layout (web/admin.go). handleError is the last resort, for what no
// surface rendered: errors raised before routing and unknown paths.

// protocolErrors renders the failures of the op endpoint as the protocol's
// envelope. Internal errors are logged with the request id; their text never
// reaches the app.
func (s *Server) protocolErrors(next fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := next(c); err != nil {
			return s.writeProtocolError(c, err)
		}
		return nil
	}
}

func (s *Server) writeProtocolError(c *fiber.Ctx, err error) error {
	c.Response().ResetBody()
	e, internal := handlers.ProtocolError(err)
	if internal {
		s.log.Error("request failed", "request_id", RequestID(c), "op", handlers.OpOf(c), "err", err)
	}
	return s.api.WriteError(c, e)
}

// plainStatus renders the failures of an event stream as an HTTP status and
// a line of text, not the protocol envelope: EventSource clients act on the
// status (401: stop reconnecting).
func (s *Server) plainStatus(next fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		err := next(c)
		if err == nil {
			return nil
		}
		c.Response().ResetBody()
		c.Set(fiber.HeaderCacheControl, "no-store")
		var fe *fiber.Error
		if errors.As(err, &fe) && fe.Code < 500 {
			return c.Status(fe.Code).SendString(fe.Message)
		}
		s.log.Error("request failed", "request_id", RequestID(c), "path", c.Path(), "err", err)
		return c.Status(fiber.StatusInternalServerError).SendString("internal error, request id " + RequestID(c))
	}
}

// handleError is the app's last resort. A request to the op endpoint that
// failed before routing still gets the envelope (the apps read nothing
// else); anything else gets a page of the public site.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	if isProtocolEndpoint(c) {
		return s.writeProtocolError(c, err)
	}
	c.Response().ResetBody()
	vm := views.ErrorPageVM{Status: fiber.StatusInternalServerError, Title: "Something went wrong",
		Message:   "The server could not answer this request. Try again; if it keeps happening, give the request id to the people who run this server.",
		RequestID: RequestID(c)}
	var fe *fiber.Error
	if errors.As(err, &fe) && fe.Code < 500 {
		vm.Status = fe.Code
		vm.Title = http.StatusText(fe.Code)
		vm.Message = pageMessage(fe)
		vm.RequestID = ""
	} else {
		s.log.Error("request failed", "request_id", RequestID(c), "path", c.Path(), "err", err)
	}
	return handlers.Render(c, vm.Status, views.ErrorPage(vm))
}

func pageMessage(fe *fiber.Error) string {
	switch fe.Code {
	case fiber.StatusNotFound:
		return "There is no page at this address."
	case fiber.StatusRequestEntityTooLarge:
		return "The request is too large."
	case fiber.StatusMethodNotAllowed:
		return "This address does not accept this kind of request."
	}
	// Errors that reach the last resort come from the HTTP server reading
	// the request (fasthttp's words, such as a multipart parser's): never
	// shown.
	return "The request could not be read."
}
