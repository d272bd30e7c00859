package handlers

import (
	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"
)

// Render writes a templ component as an HTML page with the given status.
// It is the only way pages are written.
func Render(c *fiber.Ctx, status int, comp templ.Component) error {
	c.Status(status)
	c.Set(fiber.HeaderContentType, "text/html; charset=utf-8")
	return comp.Render(c.UserContext(), c.Response().BodyWriter())
}
