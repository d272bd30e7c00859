package handlers

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"roster/models"
	"roster/views"
)

// Fraud is GET /admin/fraud: the fraud guard's conversion watch per
// country, its kill switch and today's budget.
func (h *Admin) Fraud(c *fiber.Ctx) error {
	return h.renderFraud(c, fiber.StatusOK, nil)
}

func (h *Admin) renderFraud(c *fiber.Ctx, status int, notice *views.Notice) error {
	f := h.cfg.Fraud
	ctx := c.UserContext()
	o, err := f.Overview(ctx)
	if err != nil {
		return err
	}
	banner, err := f.Banner(ctx)
	if err != nil {
		return err
	}
	p := f.Policy()
	vm := views.FraudVM{Window: windowText(p.WatchWindow), MinCodes: p.WatchMinCodes,
		MinVerified: fmt.Sprintf("%.0f %%", p.WatchMinVerified*100), SendingOn: o.SendingOn, SwitchedAt: o.SwitchedAt,
		SwitchedBy: o.SwitchedBy, Budget: p.DailyBudget, Sent: o.Sent, Limits: fraudLimits(p), BudgetBanner: banner}
	if o.Priced {
		vm.Spend = views.Money(o.Spend)
	}
	for _, w := range o.Countries {
		row := views.FraudCountryVM{Country: w.Country, Requested: w.Requested, Verified: w.Verified,
			Rate: fmt.Sprintf("%.0f %%", w.Rate()*100), Held: w.Held, ReleasedBy: w.ReleasedBy}
		if w.ReleasedAt != nil {
			row.ReleasedAt = *w.ReleasedAt
		}
		vm.Countries = append(vm.Countries, row)
	}
	for _, s := range o.SentToday {
		row := views.FraudSentVM{Country: s.Country, Sent: s.Sent}
		if o.Priced {
			row.Spend = views.Money(s.Spend)
		}
		vm.SentToday = append(vm.SentToday, row)
	}
	meta := h.meta(c, "fraud", "Fraud guard")
	if notice != nil {
		meta.Notice = notice
	}
	return Render(c, status, views.AdminFraud(meta, vm))
}

// windowText writes the watch's window: "1 hour", "90 min".
func windowText(d time.Duration) string {
	if d%time.Hour == 0 {
		return views.Plural(int(d/time.Hour), "hour", "hours")
	}
	return shortDuration(d)
}

// fraudLimits writes the prefix and country limits for the page.
func fraudLimits(p models.FraudPolicy) string {
	per := func(hourly, daily int) string {
		var out []string
		if hourly > 0 {
			out = append(out, fmt.Sprintf("%d an hour", hourly))
		}
		if daily > 0 {
			out = append(out, fmt.Sprintf("%d a day", daily))
		}
		return strings.Join(out, " or ")
	}
	prefix := "no limit per number prefix"
	if n := per(p.PrefixPerHour, p.PrefixPerDay); n != "" {
		prefix = "a number prefix (the number without its last 4 digits) is refused codes past " + n
	}
	country := "no limit per country"
	if n := per(p.CountryPerHour, p.CountryPerDay); n != "" {
		country = "once a country was sent " + n + ", only its numbers that signed in before get codes"
	}
	return prefix + "; " + country
}

// ReleaseCountry is POST /admin/fraud/release (password re-check): a
// country held by the conversion watch gets codes again.
func (h *Admin) ReleaseCountry(c *fiber.Ctx) error {
	page := func() error { return h.renderFraud(c, fiber.StatusForbidden, fail(wrongRecheck(c))) }
	if err := h.recheck(c); err != nil {
		return h.refuseRecheck(c, err, page)
	}
	country := strings.ToUpper(strings.TrimSpace(c.FormValue("country")))
	err := h.cfg.Fraud.Release(c.UserContext(), adminOf(c), adminClient(c), country)
	if errors.Is(err, models.ErrNotHeld) {
		return h.renderFraud(c, fiber.StatusConflict, fail("Codes to "+country+" are not held: nothing was released."))
	}
	if err != nil {
		return err
	}
	n := ok("Released " + country + ": its new code requests are sent again, and the watch judges it afresh from now. Codes held until now stay unsent; their people ask again.")
	return h.done(c, views.AdminURL(views.PathFraud), n, func() error { return h.renderFraud(c, fiber.StatusOK, n) })
}

// SetSending is POST /admin/fraud/sending with sending=on or off
// (password re-check): the kill switch.
func (h *Admin) SetSending(c *fiber.Ctx) error {
	page := func() error { return h.renderFraud(c, fiber.StatusForbidden, fail(wrongRecheck(c))) }
	if err := h.recheck(c); err != nil {
		return h.refuseRecheck(c, err, page)
	}
	value := c.FormValue("sending")
	if value != "on" && value != "off" {
		return h.renderFraud(c, fiber.StatusBadRequest, fail("Choose to switch sending on or off: nothing was changed."))
	}
	changed, err := h.cfg.Fraud.SetSending(c.UserContext(), adminOf(c), adminClient(c), value == "on")
	if err != nil {
		return err
	}
	n := ok("Sending switched off: codes go only to numbers that signed in before; the others are held.")
	switch {
	case !changed:
		n = ok("Sending was already " + value + ": nothing was changed.")
	case value == "on":
		n = ok("Sending switched on: codes go to every number the limits allow.")
	}
	return h.done(c, views.AdminURL(views.PathFraud), n, func() error { return h.renderFraud(c, fiber.StatusOK, n) })
}
