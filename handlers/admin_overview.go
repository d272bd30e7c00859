package handlers

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"roster/models"
	"roster/views"
)

// Overview is GET /admin/: today's figures and the 30-day charts. Each
// figure links to the list whose total it is, with the same filter and
// date range (models.Totals defines them), or says that no list shows it.
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
	vm := views.OverviewVM{Stats: overviewStats(o.Totals, o.Today, syncs[len(syncs)-1]),
		Charts: []views.Chart{
			views.NewChart("Sign-ups", "chart-signups", days, signUps),
			views.NewChart("Codes requested", "chart-codes", days, codes),
			views.NewChart("Contact syncs", "chart-syncs", days, syncs),
		}}
	if vm.FraudBanner, err = h.cfg.Fraud.Banner(c.UserContext()); err != nil {
		return err
	}
	if h.cfg.Health != nil {
		health := h.cfg.Health(c.UserContext())
		vm.Health = &health
	}
	return Render(c, fiber.StatusOK, views.AdminOverview(h.meta(c, "overview", "Overview"), vm))
}

// overviewStats are the overview's cards: each figure with its definition
// and the list (filter and date range) it is the total of, or, for the two
// figures that no list shows (live sessions of every user, syncs of every
// user), a line saying so.
func overviewStats(t models.Totals, today time.Time, syncsToday int64) []views.StatVM {
	day := today.Format("2006-01-02")
	audit := func(typ string) string {
		return views.AuditFilter{Type: typ, From: day, To: day}.URL(views.PathAudit)
	}
	codes := func(f views.CodesFilter) string {
		f.From, f.To = day, day
		return f.URL()
	}
	pushes := func(state string) string {
		return views.PushesFilter{State: state, From: day, To: day}.URL()
	}
	users := views.AdminURL(views.PathUsers)
	return []views.StatVM{
		{Label: "users", Definition: "every account", TestID: "stat-users", Value: views.Num(t.Users), Href: users},
		{Label: "active in 24 hours", Definition: "their app reached the server in the last 24 hours", TestID: "stat-seen",
			Value: views.Num(t.SeenDay), Href: users + "?active=1"},
		{Label: "active in 30 days", Definition: "their app reached the server in the last 30 days", TestID: "stat-month",
			Value: views.Num(t.SeenMonth), Href: users + "?active=30"},
		{Label: "sign-ins today", Definition: "sessions created since 00:00 UTC (token_issued)", TestID: "stat-today",
			Value: views.Num(t.SignInsToday), Href: audit(models.EventTokenIssued)},
		{Label: "active tokens", Definition: "sessions neither signed out, revoked nor expired",
			NoList: "No list shows them all; a user's page lists theirs.", TestID: "stat-tokens", Value: views.Num(t.ActiveTokens)},
		{Label: "codes requested today", Definition: "since 00:00 UTC", TestID: "stat-codes",
			Value: views.Num(t.CodesRequested), Href: codes(views.CodesFilter{})},
		{Label: "codes sent today", Definition: "messages delivered since 00:00 UTC (code_sent)", TestID: "stat-sent",
			Value: views.Num(t.CodesSent), Href: audit(models.EventCodeSent)},
		{Label: "codes verified today", Definition: "requested since 00:00 UTC and verified", TestID: "stat-verified",
			Value: views.Num(t.CodesVerified), Href: codes(views.CodesFilter{Verified: true})},
		{Label: "verified / requested", Definition: "of the codes requested since 00:00 UTC", TestID: "stat-conversion",
			Value: conversion(t.CodesVerified, t.CodesRequested), Href: codes(views.CodesFilter{})},
		{Label: "wrong codes today", Definition: "wrong codes entered since 00:00 UTC (code_failed)", TestID: "stat-failed",
			Value: views.Num(t.CodesFailed), Href: audit(models.EventCodeFailed)},
		{Label: "delivery failures today", Definition: "codes requested since 00:00 UTC whose message failed for good",
			TestID: "stat-delivery-failed", Value: views.Num(t.DeliveryFailed), Href: codes(views.CodesFilter{DeliveryFailed: true})},
		{Label: "syncs today", Definition: "contact syncs since 00:00 UTC",
			NoList: "No list shows them all; the chart below counts them by day.",
			TestID: "stat-syncs", Value: views.Num(syncsToday)},
		{Label: "pushes sent today", Definition: "push jobs queued since 00:00 UTC and handed to FCM or APNs",
			TestID: "stat-pushes-sent", Value: views.Num(t.PushesSent), Href: pushes(models.OutboxSent)},
		{Label: "pushes failed today", Definition: "push jobs queued since 00:00 UTC and given up",
			TestID: "stat-pushes-failed", Value: views.Num(t.PushesFailed), Href: pushes(models.OutboxFailed)},
	}
}

// conversion is verified per requested in percent ("—" without requests).
func conversion(verified, requested int64) string {
	if requested == 0 {
		return "—"
	}
	return strconv.FormatInt(verified*100/requested, 10) + "%"
}
