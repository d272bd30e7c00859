package handlers

import (
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"roster/models"
	"roster/views"
)

// Home is the start page at GET /.
func Home(vm views.HomeVM) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return Render(c, fiber.StatusOK, views.Home(vm))
	}
}

// ErrorPage is the error page of an HTML surface (the public site, the
// dashboard) for err. A client error (a fiber.Error below 500: no such page,
// wrong method) says what it is; anything else is internal: the page says
// only that something went wrong, with the request id, and internal is true
// so that the caller logs err.
func ErrorPage(err error, requestID string) (vm views.ErrorPageVM, internal bool) {
	var fe *fiber.Error
	if errors.As(err, &fe) && fe.Code < 500 {
		return views.ErrorPageVM{Status: fe.Code, Title: http.StatusText(fe.Code), Message: clientErrorMessage(fe)}, false
	}
	if errors.Is(err, models.ErrDatabaseLost) {
		// The people who see this page are the ones who can act on it.
		return views.ErrorPageVM{Status: fiber.StatusServiceUnavailable, Title: "The database file is lost",
			Message: "roster.db was deleted or replaced under the running server: nothing done now could be saved. " +
				"Restore it from a backup (roster backup) and restart Roster.",
			RequestID: requestID}, true
	}
	return views.ErrorPageVM{Status: fiber.StatusInternalServerError, Title: "Something went wrong",
		Message:   "The server could not answer this request. Try again; if it keeps happening, give the request id to the people who run this server.",
		RequestID: requestID}, true
}

func clientErrorMessage(fe *fiber.Error) string {
	switch fe.Code {
	case fiber.StatusNotFound:
		return "There is no page at this address."
	case fiber.StatusRequestEntityTooLarge:
		return "The request is too large."
	case fiber.StatusMethodNotAllowed:
		return "This address does not accept this kind of request."
	}
	// Other client errors come from the HTTP server reading the request
	// (fasthttp's words, such as a multipart parser's): never shown.
	return "The request could not be read."
}
