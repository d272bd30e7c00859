package web

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"roster/handlers"
	"roster/models"
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
	switch {
	case internal:
		s.log.Error("request failed", "request_id", RequestID(c), "op", handlers.OpOf(c), "err", err)
	case e.Code == handlers.CodeBusy && models.IsOutage(err):
		// The app is told BUSY; the operator is told why.
		s.log.Warn("request answered BUSY: a server it needs could not be reached", "request_id", RequestID(c),
			"op", handlers.OpOf(c), "err", err)
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
		if models.IsBusy(err) {
			if models.IsOutage(err) {
				s.log.Warn("request answered 503: a server it needs could not be reached", "request_id", RequestID(c),
					"path", c.Path(), "err", err)
			}
			c.Set(fiber.HeaderRetryAfter, "1")
			return c.Status(fiber.StatusServiceUnavailable).SendString("busy, try again shortly")
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
	vm, internal := handlers.ErrorPage(err, RequestID(c))
	if internal {
		s.log.Error("request failed", "request_id", RequestID(c), "path", c.Path(), "err", err)
	}
	return handlers.Render(c, vm.Status, views.ErrorPage(vm))
}
