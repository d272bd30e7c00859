package web_test

import (
	"fmt"
	"testing"
	"time"

	"roster/web/webtest"
)

// The fraud guard's limits hold when requests arrive at once on two
// instances: a pumping run of 60 numbers over one prefix gets exactly the
// prefix limit's 20 codes, and 30 numbers of one country in 30 prefixes
// exactly the country limit's 25 (the other 5 held); the budget lets
// exactly its 5 codes out and holds the rest.
func TestFraudLimitsAcrossInstances(t *testing.T) {
	login := func(e *webtest.Env, phone string) *webtest.Response { return e.JSON(webtest.LoginParams(phone)) }
	a, b, _, _ := twoInstances(t, "--otp-prefix-hourly", "20", "--otp-country-hourly", "25")
	var pumped, country []string
	for i := range 60 {
		pumped = append(pumped, fmt.Sprintf("120155500%02d", i))
	}
	if got := atOnce([]*webtest.Env{a, b}, pumped, login); got["OK"] != 20 || got["RATELIMIT"] != 40 {
		t.Errorf("60 requests over one prefix at once on two instances: %v, want 20 OK", got)
	}
	for i := range 30 {
		country = append(country, fmt.Sprintf("3361%02d45678", 10+i))
	}
	if got := atOnce([]*webtest.Env{a, b}, country, login); got["OK"] != 30 {
		t.Errorf("30 requests of one country at once on two instances: %v, want 30 OK (held ones answer as usual)", got)
	}
	if n := a.Count("SELECT COUNT(*) FROM outbox WHERE recipient LIKE '+33%'"); n != 25 {
		t.Errorf("%d messages queued in the country, want 25", n)
	}
	if n := a.Count("SELECT COUNT(*) FROM otp_codes WHERE country = 'FR' AND held_reason LIKE '25 codes to FR in an hour%'"); n != 5 {
		t.Errorf("%d codes held by the country's limit, want 5", n)
	}

	c, d, _, _ := twoInstances(t, "--otp-daily-budget", "5")
	var spread []string
	for i := range 20 {
		spread = append(spread, fmt.Sprintf("1201%03d0100", 200+i))
	}
	if got := atOnce([]*webtest.Env{c, d}, spread, login); got["OK"] != 20 {
		t.Errorf("budget: %v, want 20 OK (held ones answer as usual)", got)
	}
	if n := c.Count("SELECT COUNT(*) FROM outbox"); n != 5 {
		t.Errorf("%d messages queued under a budget of 5", n)
	}
	if n := c.Count("SELECT COUNT(*) FROM otp_codes WHERE held_reason <> ''"); n != 15 {
		t.Errorf("%d codes held, want 15", n)
	}
}

// Each instance remembers the prefixes its database refused, and the
// database still decides every code sent: a second pumping run at once on
// both instances gets no code, and once the hour has passed a third gets
// exactly the limit's 20 again.
func TestRememberedRefusalsAcrossInstances(t *testing.T) {
	login := func(e *webtest.Env, phone string) *webtest.Response { return e.JSON(webtest.LoginParams(phone)) }
	a, b, _, _ := twoInstances(t, "--otp-prefix-hourly", "20")
	run := func(from int) map[string]int {
		var numbers []string
		for i := range 60 {
			numbers = append(numbers, fmt.Sprintf("12015550%03d", from+i))
		}
		return atOnce([]*webtest.Env{a, b}, numbers, login)
	}
	if got := run(0); got["OK"] != 20 || got["RATELIMIT"] != 40 {
		t.Errorf("first run: %v, want 20 OK", got)
	}
	if got := run(100); got["RATELIMIT"] != 60 {
		t.Errorf("second run: %v, want all refused", got)
	}
	a.Clock.Advance(time.Hour)
	b.Clock.Advance(time.Hour)
	if got := run(200); got["OK"] != 20 || got["RATELIMIT"] != 40 {
		t.Errorf("an hour later: %v, want 20 OK", got)
	}
	if n := a.Count("SELECT COUNT(*) FROM otp_codes"); n != 40 {
		t.Errorf("%d codes stored, want 40", n)
	}
	b.Count("SELECT 0") // writes B's queued refusals; A's count writes A's
	if n := a.Count("SELECT COALESCE(SUM(1 + repeats), 0) FROM audit_log WHERE type = 'code_rate_limited'"); n != 140 {
		t.Errorf("the audit log counts %d refusals, want 140", n)
	}
}
