// The fraud guard as an app meets it: the limits per number prefix refuse
// like any quota; holds (a country's limits among them) answer as usual
// and send nothing.

package handlers_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"roster/web/webtest"
)

// noIPQuota: the tests ask from one address for many numbers.
var noIPQuota = []string{"--otp-ip-hourly", "0", "--otp-ip-daily", "0"}

func fraudEnv(t *testing.T, args ...string) *webtest.Env {
	return webtest.New(t, webtest.WithArgs(append(noIPQuota, args...)...))
}

// A pumping run walks +1 201 555 0000 to 0099 at once: the default prefix
// limit (20 an hour) lets exactly 20 codes out; the rest are refused with
// RATELIMIT, recorded as nothing but one audit row with its repeats.
// Another prefix is not affected; an hour later 20 more go out.
func TestPrefixLimitStopsPumping(t *testing.T) {
	e := fraudEnv(t)
	for i := range 100 {
		r := e.JSON(webtest.LoginParams(fmt.Sprintf("120155500%02d", i)))
		if i < 20 {
			r.ExpectOK(t)
			continue
		}
		r.ExpectFail(t, "RATELIMIT")
		if r.String("retry_after") != "3600" || !strings.Contains(r.String("errmsg"), "too many codes right now") {
			t.Fatalf("request %d: %s", i, r.Body)
		}
	}
	if n := e.Count("SELECT COUNT(*) FROM otp_codes WHERE prefix = '+1201555'"); n != 20 {
		t.Errorf("%d codes stored for the prefix, want 20", n)
	}
	if n := e.Count("SELECT COUNT(*) FROM outbox WHERE recipient LIKE '+1201555%'"); n != 20 {
		t.Errorf("%d messages queued for the prefix, want 20", n)
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'code_rate_limited' AND detail LIKE 'fraud guard: 20 codes to +1201555 in an hour%' AND repeats = 79"); n != 1 {
		t.Errorf("%d audit rows of the 80 refusals", n)
	}
	e.JSON(webtest.LoginParams("12025550100")).ExpectOK(t)
	if m := string(e.Metrics().Body); !strings.Contains(m, `roster_otp_fraud_total{decision="refused",reason="prefix_hourly"} 80`) {
		t.Errorf("metrics do not count the refusals:\n%s", grepLines(m, "roster_otp_fraud"))
	}
	e.Clock.Advance(time.Hour)
	for i := range 21 {
		r := e.JSON(webtest.LoginParams(fmt.Sprintf("120155501%02d", i)))
		if i < 20 {
			r.ExpectOK(t)
		} else {
			r.ExpectFail(t, "RATELIMIT")
		}
	}
}

// Once the database refused a prefix, the instance answers its requests
// from memory until the window rolls over: the same RATELIMIT and
// retry_after, counted in the metrics at once and on each network's audit
// row when the queued refusals are written, with no transaction of their
// own (the audit log has none of them before that). Another prefix and
// another country are served meanwhile; the prefix is served again the
// moment its first codes leave the hour.
func TestFullPrefixRefusedFromMemory(t *testing.T) {
	e := fraudEnv(t, "--trusted-proxies", "0.0.0.0")
	const home, other = "198.51.100.1", "198.51.100.2"
	for i := range 20 {
		loginFrom(e, home, fmt.Sprintf("120155500%02d", i), "").ExpectOK(t)
	}
	r := loginFrom(e, home, "12015550020", "")
	r.ExpectFail(t, "RATELIMIT")
	if r.String("retry_after") != "3600" {
		t.Fatalf("the database's refusal: %s", r.Body)
	}
	e.Clock.Advance(10 * time.Minute)
	for i := range 30 {
		ip := home
		if i%2 == 1 {
			ip = other
		}
		r := loginFrom(e, ip, fmt.Sprintf("120155501%02d", i), "")
		r.ExpectFail(t, "RATELIMIT")
		if r.String("retry_after") != "3000" || !strings.Contains(r.String("errmsg"), "too many codes right now. Try again in 50 minutes") {
			t.Fatalf("refusal %d from memory: %s", i, r.Body)
		}
	}
	type row struct {
		IP      string
		Repeats int64
	}
	var rows []row
	if err := e.Server.DB().Read.Raw("SELECT ip, repeats FROM audit_log WHERE type = 'code_rate_limited' ORDER BY id").Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0] != (row{home, 0}) {
		t.Errorf("before the queued refusals are written, the audit log has %v: the refusals from memory wrote", rows)
	}
	if m := string(e.Metrics().Body); !strings.Contains(m, `roster_otp_fraud_total{decision="refused",reason="prefix_hourly"} 31`) {
		t.Errorf("metrics do not count the refusals from memory:\n%s", grepLines(m, "roster_otp_fraud"))
	}
	// Count writes the queued refusals first, as the server does every second.
	detail := "fraud guard: 20 codes to +1201555 in an hour (prefix_hourly)"
	last := webtest.Start().Add(10 * time.Minute).UnixMilli()
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'code_rate_limited' AND ip = ? AND repeats = 15 AND last_at = ? AND detail = ?", home, last, detail); n != 1 {
		t.Errorf("the home network's row does not count its 16 refusals")
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'code_rate_limited' AND ip = ? AND repeats = 14 AND phone = '+12015550101' AND detail = ?", other, detail); n != 1 {
		t.Errorf("the other network's refusals are not on a row of their own")
	}
	if n := e.Count("SELECT COUNT(*) FROM otp_codes WHERE prefix = '+1201555'"); n != 20 {
		t.Errorf("%d codes stored for the prefix, want 20", n)
	}
	loginFrom(e, home, "12015560000", "").ExpectOK(t)
	loginFrom(e, home, "33612345678", "").ExpectOK(t)

	e.Clock.Advance(50*time.Minute - time.Second)
	r = loginFrom(e, home, "12015550200", "")
	r.ExpectFail(t, "RATELIMIT")
	if r.String("retry_after") != "1" {
		t.Errorf("a second before the window rolls over: %s", r.Body)
	}
	e.Clock.Advance(time.Second)
	loginFrom(e, home, "12015550201", "").ExpectOK(t)
}

// A country's limit holds rather than refuses: past it, a number that
// never signed in is answered as usual and sent nothing (a bot spread over
// the country's prefixes learns nothing and shuts no user out), a number
// that signed in before still gets its code, and other countries are
// served. Only codes sent count: once they leave the window, strangers get
// codes again while the held ones are still inside it.
func TestCountryLimitHoldsStrangers(t *testing.T) {
	e := fraudEnv(t, "--otp-country-hourly", "3")
	const known = "33600000001"
	sent := func(phone string) int64 {
		return e.Count("SELECT COUNT(*) FROM outbox WHERE recipient = ?", "+"+phone)
	}
	e.SignIn(known, "phone") // the first FR code
	e.Clock.Advance(time.Minute)
	for _, p := range []string{"33612345678", "33623456789"} {
		e.JSON(webtest.LoginParams(p)).ExpectOK(t)
	}
	e.JSON(webtest.LoginParams(known)).ExpectOK(t) // past the limit, but a user's
	if sent(known) != 2 {
		t.Errorf("the user's code past the country's limit was not sent")
	}
	e.Clock.Advance(30 * time.Minute)
	for _, p := range []string{"33687654321", "33611111111"} {
		e.JSON(webtest.LoginParams(p)).ExpectOK(t)
		if sent(p) != 0 {
			t.Errorf("%s: a stranger's code past the country's limit was sent", p)
		}
	}
	if n := e.Count("SELECT COUNT(*) FROM otp_codes WHERE country = 'FR' AND held_reason = '3 codes to FR in an hour (country_hourly)'"); n != 2 {
		t.Errorf("%d codes held with the country's limit as their reason, want 2", n)
	}
	if n := e.Count("SELECT SUM(1 + COALESCE(repeats, 0)) FROM audit_log WHERE type = 'code_held' AND detail LIKE '3 codes to FR in an hour%'"); n != 2 {
		t.Errorf("%d holds audited, want 2", n)
	}
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	if sent(webtest.USPhone) != 1 {
		t.Error("another country's code was not sent")
	}
	if m := string(e.Metrics().Body); !strings.Contains(m, `roster_otp_fraud_total{decision="held",reason="country_hourly"} 2`) {
		t.Errorf("metrics:\n%s", grepLines(m, "roster_otp_fraud"))
	}
	// The sent codes leave the window; the held ones are still in it.
	e.Clock.Advance(30*time.Minute + time.Second)
	e.JSON(webtest.LoginParams("33622222222")).ExpectOK(t)
	if sent("33622222222") != 1 {
		t.Error("held codes kept the country closed after its sent codes left the window")
	}
}

// The daily prefix limit, and the country limits, with small values.
func TestPrefixDailyAndCountryLimits(t *testing.T) {
	e := fraudEnv(t, "--otp-prefix-hourly", "5", "--otp-prefix-daily", "8")
	for i := range 6 {
		r := e.JSON(webtest.LoginParams(fmt.Sprintf("120155500%02d", i)))
		if i < 5 {
			r.ExpectOK(t)
		} else {
			r.ExpectFail(t, "RATELIMIT")
		}
	}
	e.Clock.Advance(time.Hour)
	for i := range 4 {
		r := e.JSON(webtest.LoginParams(fmt.Sprintf("120155501%02d", i)))
		if i < 3 {
			r.ExpectOK(t)
			continue
		}
		r.ExpectFail(t, "RATELIMIT")
		if r.String("retry_after") != fmt.Sprint(23*3600) {
			t.Errorf("daily limit: retry_after %s, want 23 hours", r.String("retry_after"))
		}
	}

	// A country's limits hold strangers' requests (answered OK) instead.
	c := fraudEnv(t, "--otp-country-hourly", "3", "--otp-country-daily", "4")
	for _, p := range []string{"33612345678", "33623456789", "33698765432", "33687654321"} {
		c.JSON(webtest.LoginParams(p)).ExpectOK(t)
	}
	c.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	c.Clock.Advance(time.Hour)
	for _, p := range []string{"33611111111", "33622222222"} {
		c.JSON(webtest.LoginParams(p)).ExpectOK(t)
	}
	for reason, want := range map[string]int64{"": 4, "3 codes to FR in an hour (country_hourly)": 1, "4 codes to FR in a day (country_daily)": 1} {
		if n := c.Count("SELECT COUNT(*) FROM otp_codes WHERE country = 'FR' AND held_reason = ?", reason); n != want {
			t.Errorf("%d FR codes held for %q, want %d", n, reason, want)
		}
	}
	if n := c.Count("SELECT COUNT(*) FROM outbox WHERE recipient LIKE '+33%'"); n != 4 {
		t.Errorf("%d FR messages queued, want 4", n)
	}
}

// The daily budget: once it is spent, numbers that never signed in get
// held codes (answered OK, nothing queued), signed-in ones still get
// theirs; the next UTC day sends again.
func TestDailyBudgetHoldsStrangers(t *testing.T) {
	e := fraudEnv(t, "--otp-daily-budget", "3")
	e.SignIn(webtest.USPhone, "a") // 1 message
	for _, p := range []string{"12015550201", "12015550202"} {
		e.JSON(webtest.LoginParams(p)).ExpectOK(t)
	}
	e.Clock.Advance(time.Minute)
	e.JSON(webtest.LoginParams("12015550203")).ExpectOK(t) // held
	if n := e.Count("SELECT COUNT(*) FROM outbox WHERE recipient = '+12015550203'"); n != 0 {
		t.Errorf("a held code was queued")
	}
	if n := e.Count("SELECT COUNT(*) FROM otp_codes WHERE phone = '+12015550203' AND held_reason = 'the daily budget of 3 messages is spent' AND channel = ''"); n != 1 {
		t.Errorf("the held code is not marked with its reason")
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'code_held' AND phone = '+12015550203'"); n != 1 {
		t.Errorf("the hold is not audited")
	}
	// The code cannot be verified: nobody knows it.
	e.Verify("12015550203", "123456").ExpectFail(t, "BADCODE")
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	if n := e.Count("SELECT COUNT(*) FROM outbox WHERE recipient = ?", "+"+webtest.USPhone); n != 2 {
		t.Errorf("the signed-in number got %d messages, want 2", n)
	}
	if m := string(e.Metrics().Body); !strings.Contains(m, `roster_otp_fraud_total{decision="held",reason="budget"} 1`) {
		t.Errorf("metrics:\n%s", grepLines(m, "roster_otp_fraud"))
	}
	e.Clock.Advance(24 * time.Hour)
	e.JSON(webtest.LoginParams("12015550204")).ExpectOK(t)
	if n := e.Count("SELECT COUNT(*) FROM outbox WHERE recipient = '+12015550204'"); n != 1 {
		t.Errorf("the next day's code was not queued")
	}
}

func grepLines(text, word string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
