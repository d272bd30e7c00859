package handlers

import (
	"slices"

	"github.com/gofiber/fiber/v2"

	"roster/models"
	"roster/views"
)

// pushesFilter reads the pushes page's filter: the state, the provider, a
// date range of queueing (as the audit log's) and the page
// (readListQuery); a notice names the values it dropped.
func (h *Admin) pushesFilter(c *fiber.Ctx) (views.PushesFilter, models.PushFilter, listQuery, *views.Notice) {
	l := readListQuery(c, 100, nil)
	v := views.PushesFilter{Size: l.size, Before: l.before, After: l.after}
	var f models.PushFilter
	states := make([]string, 0, 4)
	for _, st := range views.PushStates() {
		states = append(states, st[0])
	}
	if st := c.Query("state"); slices.Contains(states, st) {
		v.State, f.State = st, st
	} else if st != "" {
		l.ignored = append(l.ignored, "state=“"+shortText(st)+"” (pending, sending, sent or failed; showing every push)")
	}
	if p := c.Query("provider"); slices.Contains(h.cfg.PushProviders, p) {
		v.Provider, f.Provider = p, p
	} else if p != "" {
		l.ignored = append(l.ignored, "provider=“"+shortText(p)+"” (not a provider of --push)")
	}
	var dates *views.Notice
	v.From, v.To, f.From, f.To, dates = dayRange(c)
	return v, f, l, ignoredNotice(l.ignored, dates)
}

// Pushes is GET /admin/pushes: push jobs with their attempts, newest
// first, filtered (pushesFilter) and paged by keyset, with their total.
func (h *Admin) Pushes(c *fiber.Ctx) error {
	filter, f, l, notice := h.pushesFilter(c)
	rows, links, err := h.dash.PushPage(c.UserContext(), f, l.keyset, l.limit)
	if err != nil {
		return err
	}
	total, err := h.dash.CountPushes(c.UserContext(), f)
	if err != nil {
		return err
	}
	vm := views.PushesVM{PushesFilter: filter, Total: total, Enabled: h.cfg.PushProviders}
	vm.KeysetPages = l.pages(links, filter.Paged)
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
	if notice != nil {
		meta.Notice = notice
	}
	return Render(c, fiber.StatusOK, views.AdminPushes(meta, vm))
}
