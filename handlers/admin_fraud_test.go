package handlers_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"roster/models"
	"roster/web/webtest"
)

// collapse asks for n codes to numbers of one country that are never
// verified.
func collapse(t *testing.T, e *webtest.Env, format string, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		e.JSON(webtest.LoginParams(fmt.Sprintf(format, i))).ExpectOK(t)
	}
}

func queued(e *webtest.Env, e164 string) int64 {
	return e.Count("SELECT COUNT(*) FROM outbox WHERE recipient = ?", e164)
}

// Two countries' verify rates collapse (codes nobody enters): both are
// held. An operator releases France on the fraud page (password
// re-checked, audited): its next request is sent. Britain, not released,
// recovers when its codes leave the window. Meanwhile a French number that
// signed in before is never held, and the codes page says why a code was
// held.
func TestConversionWatchHoldReleaseRecover(t *testing.T) {
	e := fraudEnv(t, "--otp-watch-min-codes", "10", "--otp-prefix-hourly", "0")
	e.SignIn("33612345678", "a") // a French user, before the collapse
	e.Clock.Advance(time.Minute)
	collapse(t, e, "336987654%02d", 0, 19)  // 1 of 20 verified: 5 %
	collapse(t, e, "4474001234%02d", 0, 10) // 0 of 10
	e.JSON(webtest.LoginParams("33698765499")).ExpectOK(t)
	e.JSON(webtest.LoginParams("447400123499")).ExpectOK(t)
	if queued(e, "+33698765499") != 0 || queued(e, "+447400123499") != 0 {
		t.Fatal("a request of a collapsed country was sent")
	}
	if n := e.Count("SELECT COUNT(*) FROM otp_codes WHERE phone = '+33698765499' AND held_reason LIKE 'conversion watch: 1 of 20 codes to FR verified%'"); n != 1 {
		t.Errorf("the held code does not say why")
	}
	e.JSON(webtest.LoginParams("33612345678")).ExpectOK(t) // the French user, known
	if queued(e, "+33612345678") != 2 {
		t.Errorf("a number that signed in before was held")
	}

	viewer := e.AdminLogin("viewer", "viewer")
	page := viewer.Get("/admin/fraud")
	if page.Status != http.StatusOK {
		t.Fatalf("fraud page: %d", page.Status)
	}
	if want := "a number prefix (the number without its last 4 digits) is refused codes past 100 a day; once a country was sent 500 an hour or 5000 a day, only its numbers that signed in before get codes"; !strings.Contains(string(page.Body), want) {
		t.Errorf("the page does not say the limits: %q", want)
	}
	fr := page.TestID(t, "fraud-country-FR")
	if got := fr.Find(`[data-testid="fraud-requested"]`).Text() + "/" + fr.Find(`[data-testid="fraud-verified"]`).Text() + "/" + fr.Find(`[data-testid="fraud-rate"]`).Text(); got != "22/1/5 %" {
		t.Errorf("FR figures %q", got)
	}
	if !strings.Contains(fr.Find(`[data-testid="fraud-state"]`).Text(), "held") {
		t.Errorf("FR not shown held")
	}
	if page.CountTestID(t, "fraud-release-FR") != 0 {
		t.Errorf("a viewer is offered the release")
	}
	if r := viewer.Post("/admin/fraud/release", map[string]string{"country": "FR", "password": webtest.AdminPassword}); r.Status != http.StatusForbidden {
		t.Errorf("a viewer's release: %d", r.Status)
	}
	codes := viewer.Get("/admin/codes").TestID(t, "codes-table").Text()
	if !strings.Contains(codes, "held, not sent: conversion watch") {
		t.Errorf("the codes page does not say why a code was held")
	}

	op := e.AdminLogin("op", "operator")
	if op.Get("/admin/fraud").CountTestID(t, "fraud-release-FR") != 1 {
		t.Fatal("no release button for the operator")
	}
	r := op.Post("/admin/fraud/release", map[string]string{"country": "FR", "password": "wrong"})
	if r.Status != http.StatusForbidden || e.Count("SELECT COUNT(*) FROM fraud_releases") != 0 {
		t.Errorf("a release with a wrong password: %d", r.Status)
	}
	r = op.Post("/admin/fraud/release", map[string]string{"country": "FR", "password": webtest.AdminPassword})
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), "Released FR") || r.CountTestID(t, "fraud-country-FR") != 0 {
		t.Fatalf("release: %d %s", r.Status, r.TestIDText(t, "fraud-countries"))
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_fraud_release' AND actor = 'admin:op' AND detail LIKE 'released FR: 1 of 22 codes verified%'"); n != 1 {
		t.Errorf("the release is not audited")
	}
	if r := op.Post("/admin/fraud/release", map[string]string{"country": "FR", "password": webtest.AdminPassword}); r.Status != http.StatusConflict {
		t.Errorf("releasing a country not held: %d", r.Status)
	}
	e.Clock.Advance(time.Minute)
	e.JSON(webtest.LoginParams("33698765498")).ExpectOK(t)
	if queued(e, "+33698765498") != 1 {
		t.Errorf("a released country's request was not sent")
	}
	e.JSON(webtest.LoginParams("447400123498")).ExpectOK(t)
	if queued(e, "+447400123498") != 0 {
		t.Errorf("Britain was released with France")
	}

	e.Clock.Advance(time.Hour)
	e.JSON(webtest.LoginParams("447400123497")).ExpectOK(t)
	if queued(e, "+447400123497") != 1 {
		t.Errorf("Britain did not recover when its codes left the window")
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'code_held'"); n != 1 {
		t.Errorf("%d code_held rows: the holds from one network count on one row", n)
	}
	expectHeldMetric(t, e, models.FraudConversion, "conversion watch: %")
}

// expectHeldMetric checks that roster_otp_fraud_total counted every code
// held for reason, as many as the codes whose held_reason is like detail
// (at least one: a count of none would prove nothing).
func expectHeldMetric(t *testing.T, e *webtest.Env, reason, detail string) {
	t.Helper()
	held := e.Count("SELECT COUNT(*) FROM otp_codes WHERE held_reason LIKE ?", detail)
	want := fmt.Sprintf(`roster_otp_fraud_total{decision="held",reason="%s"} %d`, reason, held)
	if m := string(e.Metrics().Body); held == 0 || !strings.Contains(m, want+"\n") {
		t.Errorf("%d codes held (%s); metrics, want %s:\n%s", held, reason, want, grepLines(m, "roster_otp_fraud"))
	}
}

// The kill switch on the dashboard: off, only numbers that signed in
// before get codes, the overview says so; on again, all do. Both turns are
// audited.
func TestKillSwitch(t *testing.T) {
	e := fraudEnv(t)
	e.SignIn(webtest.USPhone, "a")
	a := e.AdminLogin("owner2", "owner")
	if a.Get("/admin/").CountTestID(t, "fraud-banner") != 0 {
		t.Error("a banner while sending is on")
	}
	r := a.Post("/admin/fraud/sending", map[string]string{"sending": "off", "password": webtest.AdminPassword})
	if r.Status != http.StatusOK || !strings.Contains(r.TestIDText(t, "fraud-sending"), "switched off") {
		t.Fatalf("switch off: %d", r.Status)
	}
	if !strings.Contains(a.Get("/admin/").TestIDText(t, "fraud-banner"), "codes go only to numbers that signed in before") {
		t.Error("the overview does not say that sending is off")
	}
	e.Clock.Advance(time.Minute)
	e.JSON(webtest.LoginParams("12025550101")).ExpectOK(t)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	if queued(e, "+12025550101") != 0 || queued(e, "+"+webtest.USPhone) != 2 {
		t.Errorf("switched off: the stranger got %d, the user %d messages", queued(e, "+12025550101"), queued(e, "+"+webtest.USPhone))
	}
	if n := e.Count("SELECT COUNT(*) FROM otp_codes WHERE held_reason = 'sending is switched off on the dashboard'"); n != 1 {
		t.Errorf("%d codes held by the switch", n)
	}
	// An administrator's resend is held like an app's, and told so.
	e.Clock.Advance(time.Minute)
	r = a.Post("/admin/codes/resend", map[string]string{"phone": "+12025550102"})
	if r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "No code sent: the fraud guard held it (sending is switched off on the dashboard)") {
		t.Errorf("the resend of a held code: %d", r.Status)
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_resend_code' AND detail = 'held by the fraud guard: sending is switched off on the dashboard'"); n != 1 {
		t.Errorf("the held resend is not audited as held")
	}
	if r := a.Post("/admin/fraud/sending", map[string]string{"sending": "maybe", "password": webtest.AdminPassword}); r.Status != http.StatusBadRequest {
		t.Errorf("a bad value: %d", r.Status)
	}
	a.Post("/admin/fraud/sending", map[string]string{"sending": "on", "password": webtest.AdminPassword})
	e.Clock.Advance(time.Minute)
	e.JSON(webtest.LoginParams("12025550101")).ExpectOK(t)
	if queued(e, "+12025550101") != 1 {
		t.Error("switched on again, the stranger's code was not sent")
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_fraud_sending' AND actor = 'admin:owner2'"); n != 2 {
		t.Errorf("%d audited turns of the switch", n)
	}
	expectHeldMetric(t, e, models.FraudSwitchedOff, "sending is switched off on the dashboard")
}

// The budget on the dashboard: today's codes and their estimated spend by
// country, and the overview's banner once it is spent.
func TestBudgetOnDashboard(t *testing.T) {
	e := fraudEnv(t, "--otp-daily-budget", "2", "--otp-cost", "US=0.0079,*=0.05")
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	e.JSON(webtest.LoginParams("33612345678")).ExpectOK(t)
	a := e.AdminLogin("op", "operator")
	page := a.Get("/admin/fraud")
	if got := page.TestIDText(t, "fraud-budget"); got != "2 codes sent of a budget of 2, estimated spend 0.06." {
		t.Errorf("budget line %q", got)
	}
	if got := page.TestID(t, "fraud-sent-FR").Text(); got != "FR10.05" {
		t.Errorf("FR spend %q", got)
	}
	if !strings.Contains(a.Get("/admin/").TestIDText(t, "fraud-banner"), "budget of 2 messages is spent") {
		t.Error("the overview does not say the budget is spent")
	}
}
