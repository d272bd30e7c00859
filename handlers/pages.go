package handlers

import (
	"github.com/gofiber/fiber/v2"

	"roster/views"
)

// Home is the start page at GET /.
func Home(vm views.HomeVM) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return Render(c, fiber.StatusOK, views.Home(vm))
	}
}
