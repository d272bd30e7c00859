package handlers

import (
	"github.com/gofiber/fiber/v2"

	"roster/models"

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
	meta := h.meta(c, "outbox", "Outbox")
	// A message's text holds a live sign-in code: whoever reads it can sign
	// in as that person, so only those who may act on users see it.
	vm := views.OutboxVM{BodiesHidden: !meta.CanWrite}
	for _, m := range msgs {
		row := views.OutboxRowVM{ID: m.ID, Channel: m.Channel, Recipient: m.Recipient,
			State: m.State, Attempts: m.Attempts, LastError: m.LastError, Created: m.CreatedAt}
		if !vm.BodiesHidden {
			row.Body = m.Body
			row.Removed = models.OutboxTextRemoved(m.Body)
		}
		vm.Messages = append(vm.Messages, row)
	}
	return Render(c, fiber.StatusOK, views.AdminOutbox(meta, vm))
}
