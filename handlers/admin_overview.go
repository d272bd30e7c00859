package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"roster/views"
)

// Overview is GET /admin/: today's figures and the 30-day charts.
func (h *Admin) Overview(c *fiber.Ctx) error {
	o, err := h.dash.Overview(c.UserContext())
	if err != nil {
		return err
	}
	days := make([]time.Time, len(o.SignUps))
	signUps := make([]int64, len(o.SignUps))
	codes := make([]int64, len(o.Codes))
	for i := range o.SignUps {
		days[i], signUps[i], codes[i] = o.SignUps[i].Day, o.SignUps[i].Count, o.Codes[i].Count
	}
	syncs, err := h.sync.SyncsPerDay(c.UserContext(), days[0], len(days))
	if err != nil {
		return err
	}
	t := o.Totals
	vm := views.OverviewVM{SyncsToday: syncs[len(syncs)-1], Users: t.Users, SeenToday: t.SeenToday, SeenMonth: t.SeenMonth,
		DeliveryFailed: t.DeliveryFailed, SignedInToday: t.SignedInToday,
		ActiveTokens: t.ActiveTokens, CodesRequested: t.CodesRequested, CodesSent: t.CodesSent, CodesVerified: t.CodesVerified,
		CodesFailed: t.CodesFailed, PushesSent: t.PushesSent, PushesFailed: t.PushesFailed,
		Charts: []views.Chart{
			views.NewChart("Sign-ups", "chart-signups", days, signUps),
			views.NewChart("Codes requested", "chart-codes", days, codes),
			views.NewChart("Contact syncs", "chart-syncs", days, syncs),
		}}
	if h.cfg.Health != nil {
		health := h.cfg.Health(c.UserContext())
		vm.Health = &health
	}
	return Render(c, fiber.StatusOK, views.AdminOverview(h.meta(c, "overview", "Overview"), vm))
}
