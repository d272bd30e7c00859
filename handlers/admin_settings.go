package handlers

import (
	"github.com/gofiber/fiber/v2"

	"roster/views"
)

// Settings is GET /admin/settings: the effective configuration, redacted.
func (h *Admin) Settings(c *fiber.Ctx) error {
	return Render(c, fiber.StatusOK, views.AdminSettings(h.meta(c, "settings", "Settings"), h.cfg.Settings))
}
