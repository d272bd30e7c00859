package handlers

import (
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
	vm, internal := ErrorPage(err, requestID)
	return internal, Render(c, vm.Status, views.AdminError(h.meta(c, "", vm.Title), vm))
}
