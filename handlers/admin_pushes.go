package handlers

import (
	"github.com/gofiber/fiber/v2"

	"roster/views"
)

// Pushes is GET /admin/pushes: the newest push jobs with their attempts
// (?state=failed: only those given up).
func (h *Admin) Pushes(c *fiber.Ctx) error {
	vm := views.PushesVM{FailedOnly: c.Query("state") == "failed", Enabled: h.cfg.PushProviders}
	rows, err := h.dash.RecentPushes(c.UserContext(), vm.FailedOnly, 100)
	if err != nil {
		return err
	}
	for _, r := range rows {
		row := views.PushRowVM{ID: r.ID, Created: r.CreatedAt, UserID: r.UserID, Recipient: r.Recipient, Provider: r.Channel,
			Type: r.Job.Type, State: r.State, LastError: r.LastError}
		for _, a := range r.Attempts {
			row.Attempts = append(row.Attempts, views.PushAttemptVM{At: a.At, Status: a.Status, HTTPStatus: a.HTTPStatus,
				Error: a.Error, DurationMs: a.DurationMs})
		}
		vm.Rows = append(vm.Rows, row)
	}
	meta := h.meta(c, "pushes", "Pushes")
	if state := c.Query("state"); state != "" && state != "failed" {
		meta.Notice = ignoredNotice([]string{"state=“" + shortText(state) + "” (failed; showing every push)"}, nil)
	}
	return Render(c, fiber.StatusOK, views.AdminPushes(meta, vm))
}
