package handlers

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"roster/models"
	"roster/views"
)

// Codes is GET /admin/codes.
func (h *Admin) Codes(c *fiber.Ctx) error {
	return h.renderCodes(c, fiber.StatusOK, nil, "")
}

// codesFilter reads the codes page's filter from the query string: a
// number or a number prefix, in any format, the verified switch, the
// delivery (failed, or held by the fraud guard), the channel, a date range (as the audit
// log's), and the page (readListQuery). It returns the filter as the page
// shows it and as the queries run it, the page, and a notice naming the
// values it dropped; a prefix of "-" matches nothing (codes are only looked
// up by number).
func (h *Admin) codesFilter(c *fiber.Ctx) (views.CodesFilter, models.CodeFilter, listQuery, *views.Notice) {
	l := readListQuery(c, 100, h.cfg.Channels)
	v := views.CodesFilter{Q: strings.TrimSpace(c.Query("q")), Verified: c.Query("state") == "verified",
		Channel: l.channel, Size: l.size, Before: l.before, After: l.after}
	switch d := c.Query("delivery"); d {
	case "":
	case "failed":
		v.DeliveryFailed = true
	case "held":
		v.Held = true
	default:
		l.ignored = append(l.ignored, "delivery=“"+shortText(d)+"” (failed, held)")
	}
	f := models.CodeFilter{Verified: v.Verified, DeliveryFailed: v.DeliveryFailed, Held: v.Held, Channel: l.channel}
	var dates *views.Notice
	v.From, v.To, f.From, f.To, dates = dayRange(c)
	notice := ignoredNotice(l.ignored, dates)
	if v.Q == "" {
		return v, f, l, notice
	}
	f.PhonePrefix = "-"
	if s := models.ParseUserSearch(v.Q, h.cfg.Region); s.Mode == models.SearchPhone {
		f.PhonePrefix = s.Prefix
	}
	return v, f, l, notice
}

func (h *Admin) renderCodes(c *fiber.Ctx, status int, notice *views.Notice, resendPhone string) error {
	filter, f, l, filterNotice := h.codesFilter(c)
	if notice == nil {
		notice = filterNotice
	}
	ctx := c.UserContext()
	codes, links, err := h.dash.CodesPage(ctx, f, l.keyset, l.limit)
	if err != nil {
		return err
	}
	total, err := h.dash.CountCodes(ctx, f)
	if err != nil {
		return err
	}
	// Refused requests made no code and unverified numbers have none
	// verified: under the verified or delivery filters they are empty.
	var refused []models.AuditEntry
	var unv []models.Unverified
	if !filter.StatusOnly() {
		if refused, err = h.dash.RefusedRequests(ctx, f.PhonePrefix, 20); err != nil {
			return err
		}
		if unv, err = h.dash.UnverifiedSignUps(ctx, f.PhonePrefix, 50); err != nil {
			return err
		}
	}
	users, err := h.dash.UserIDsByPhone(ctx, codes)
	if err != nil {
		return err
	}
	vm := views.CodesVM{CodesFilter: filter, Channels: h.cfg.Channels, Codes: codeVMs(codes, users), Total: total, Refused: auditVMs(refused), ResendPhone: resendPhone}
	vm.KeysetPages = l.pages(links, func(before, after int64) string { return filter.Paged(before, after).URL() })
	for _, u := range unv {
		vm.Unverified = append(vm.Unverified, views.UnverifiedVM{Phone: u.Phone, Requests: u.Requests, LastAt: u.LastAt})
	}
	meta := h.meta(c, "codes", "Codes")
	if notice != nil {
		meta.Notice = notice
	}
	return Render(c, status, views.AdminCodes(meta, vm))
}

// ResendCode is POST /admin/codes/resend with a phone number.
func (h *Admin) ResendCode(c *fiber.Ctx) error {
	raw := c.FormValue("phone")
	p, err := models.ParseDashboardPhone(raw, h.cfg.Region)
	if err == nil && !h.signIn.IsTestNumber(p.E164) {
		err = p.CheckValid()
	}
	if err != nil {
		return h.renderCodes(c, fiber.StatusBadRequest, fail("Not a phone number codes can be sent to: "+err.Error()+"."), raw)
	}
	status, notice, err := h.resend(c, p)
	if err != nil {
		return err
	}
	if status != fiber.StatusOK {
		return h.renderCodes(c, status, notice, "")
	}
	filter, _, _, _ := h.codesFilter(c)
	return h.done(c, filter.Newest().URL(), notice, func() error { return h.renderCodes(c, status, notice, "") })
}

// resend asks for a code through the sign-in flow (same quotas as an app),
// as the admin's request, and audits it as an admin action.
func (h *Admin) resend(c *fiber.Ctx, p models.Phone) (int, *views.Notice, error) {
	err := h.signIn.RequestCode(c.UserContext(), p, adminClient(c))
	var refused *models.RefusedError
	detail := "sent via " + h.cfg.Channel
	status, notice := fiber.StatusOK, ok(fmt.Sprintf("Code for %s sent via %s, valid %s, %d tries left.",
		p.E164, h.cfg.Channel, shortDuration(h.cfg.CodeTTL), h.cfg.MaxAttempts))
	switch {
	case errors.As(err, &refused):
		detail = "refused: " + refused.Message
		status, notice = fiber.StatusTooManyRequests, fail("No code sent: "+refused.Message)
	case err != nil:
		return 0, nil, err
	case h.signIn.IsTestNumber(p.E164):
		detail = "test number: fixed code, nothing sent"
		notice = ok("No code sent: " + p.E164 + " is a test number with a fixed code.")
	case h.cfg.DemoCodeOn:
		detail = "demo-code mode: nothing sent"
		notice = ok("No code sent: demo-code mode is on (the fixed demo code works).")
	default:
		held, err := h.signIn.HeldReason(c.UserContext(), p.E164)
		if err != nil {
			return 0, nil, err
		}
		if held != "" {
			detail = "held by the fraud guard: " + held
			status, notice = fiber.StatusConflict, fail("No code sent: the fraud guard held it ("+held+").")
		}
	}
	if err := h.actions.AuditAdmin(c.UserContext(), adminOf(c), models.EventAdminResendCode, p.E164, adminClient(c), detail); err != nil {
		return 0, nil, err
	}
	return status, notice, nil
}

func shortDuration(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.Itoa(int(d/time.Minute)) + " min"
	}
	return d.String()
}

// keptFor writes a retention: "for 30 days", "for 36 hours".
func keptFor(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		if d == 24*time.Hour {
			return "for 1 day"
		}
		return "for " + strconv.Itoa(int(d/(24*time.Hour))) + " days"
	}
	return "for " + strconv.Itoa(int(d/time.Hour)) + " hours"
}
