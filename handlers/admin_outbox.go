package handlers

import (
	"github.com/gofiber/fiber/v2"

	"roster/views"
)

// Outbox is GET /admin/outbox (console channel only).
func (h *Admin) Outbox(c *fiber.Ctx) error {
	if !h.cfg.Console {
		return fiber.ErrNotFound
	}
	msgs, err := h.dash.Outbox(c.UserContext(), 100)
	if err != nil {
		return err
	}
	var vm views.OutboxVM
	for _, m := range msgs {
		vm.Messages = append(vm.Messages, views.OutboxRowVM{ID: m.ID, Channel: m.Channel, Recipient: m.Recipient, Body: m.Body,
			State: m.State, Attempts: m.Attempts, LastError: m.LastError, Created: m.CreatedAt})
	}
	return Render(c, fiber.StatusOK, views.AdminOutbox(h.meta(c, "outbox", "Outbox"), vm))
}
