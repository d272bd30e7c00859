package handlers

import (
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"roster/views"
)

// RenderError answers an error of a dashboard handler as a message inside
// the dashboard's frame (web mounts it as the /admin group's error path).
// A client error (a fiber.Error below 500: no such page, wrong method) says
// what it is; anything else is internal: the answer is a generic message
// with the request id, and internal is true so that the caller logs err.
func (h *Admin) RenderError(c *fiber.Ctx, err error, requestID string) (internal bool, renderErr error) {
	// Whatever the handler began to write (a CSV export's headers) goes.
	c.Response().ResetBody()
	c.Response().Header.Del(fiber.HeaderContentDisposition)
	vm := views.ErrorPageVM{Status: fiber.StatusInternalServerError, Title: "Something went wrong",
		Message:   "The server could not answer this request. Try again; if it keeps happening, give the request id to the people who run this server.",
		RequestID: requestID}
	var fe *fiber.Error
	if errors.As(err, &fe) && fe.Code < 500 {
		vm = views.ErrorPageVM{Status: fe.Code, Title: http.StatusText(fe.Code), Message: adminErrorMessage(fe)}
	} else {
		internal = true
	}
	return internal, Render(c, vm.Status, views.AdminError(h.meta(c, "", vm.Title), vm))
}

// adminErrorMessage says a client error in words (the public site's error
// page, web's pageMessage, says the same).
func adminErrorMessage(fe *fiber.Error) string {
	switch fe.Code {
	case fiber.StatusNotFound:
		return "There is no page at this address."
	case fiber.StatusRequestEntityTooLarge:
		return "The request is too large."
	case fiber.StatusMethodNotAllowed:
		return "This address does not accept this kind of request."
	}
	return fe.Message
}
