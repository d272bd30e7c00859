// The code-request quotas: per phone (hourly, daily), surviving a restart,
// and per client IP as a trusted proxy reports it.

package handlers_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"roster/web"
	"roster/web/webtest"
)

func TestPhoneQuotas(t *testing.T) {
	e := webtest.New(t)
	for i := 0; i < 5; i++ {
		e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
		e.Clock.Advance(31 * time.Second)
	}
	r := e.JSON(webtest.LoginParams(webtest.USPhone))
	r.ExpectFail(t, "RATELIMIT")
	// The oldest of the five leaves the hour window at Start+1h.
	wantWait := webtest.Start().Add(time.Hour).Sub(e.Clock.Now())
	if r.String("retry_after") != fmt.Sprint(int(wantWait.Seconds())) {
		t.Errorf("retry_after = %s, want %d", r.String("retry_after"), int(wantWait.Seconds()))
	}
	if r.Header.Get("Retry-After") != r.String("retry_after") {
		t.Errorf("Retry-After header %q", r.Header.Get("Retry-After"))
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'code_rate_limited'"); n != 1 {
		t.Errorf("%d code_rate_limited entries", n)
	}
	// The daily quota: 10 per day.
	for i := 0; i < 5; i++ {
		e.Clock.Advance(time.Hour)
		e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	}
	e.Clock.Advance(time.Hour)
	r = e.JSON(webtest.LoginParams(webtest.USPhone))
	r.ExpectFail(t, "RATELIMIT")
	if !strings.Contains(r.String("errmsg"), "today") {
		t.Errorf("errmsg %q", r.String("errmsg"))
	}
	e.Clock.Advance(24 * time.Hour)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
}

// Counters live in the database: a restart does not reset them.
func TestQuotaSurvivesRestart(t *testing.T) {
	e := webtest.New(t)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	e2 := webtest.New(t, webtest.SameDatabase(e), func(_ *web.Config, o *web.Options) { o.Clock = e.Clock })
	e2.JSON(webtest.LoginParams(webtest.USPhone)).ExpectFail(t, "RATELIMIT")
}

func TestIPQuotaBehindTrustedProxy(t *testing.T) {
	e := webtest.New(t, webtest.WithArgs("--trusted-proxies", "0.0.0.0", "--otp-ip-hourly", "3"))
	from := func(ip, phone string) *webtest.Response {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(webtest.MustJSON(t, webtest.LoginParams(phone))))
		req.Header.Set("X-Forwarded-For", ip)
		return e.Do(req)
	}
	phones := []string{"12015550101", "12015550102", "12015550103", "12015550104"}
	for _, p := range phones[:3] {
		from("203.0.113.7", p).ExpectOK(t)
	}
	r := from("203.0.113.7", phones[3])
	r.ExpectFail(t, "RATELIMIT")
	if !strings.Contains(r.String("errmsg"), "network") {
		t.Errorf("errmsg %q", r.String("errmsg"))
	}
	from("203.0.113.8", phones[3]).ExpectOK(t)
	if n := e.Count("SELECT COUNT(*) FROM otp_codes WHERE network = '203.0.113.7'"); n != 3 {
		t.Errorf("%d codes recorded for the client IP", n)
	}
}

// Without a trusted proxy, a client cannot choose its IP with a header.
func TestForwardedForIgnoredWithoutTrustedProxy(t *testing.T) {
	e := webtest.New(t)
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(webtest.MustJSON(t, webtest.LoginParams(webtest.USPhone))))
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	e.Do(req).ExpectOK(t)
	if n := e.Count("SELECT COUNT(*) FROM otp_codes WHERE network = '203.0.113.7'"); n != 0 {
		t.Error("an untrusted X-Forwarded-For was believed")
	}
}

// Refused code requests and test-number code requests are counted, not
// written one row each: all from one network within an hour are one row
// of the audit log with the count of its repeats; the next hour starts a
// new row.
func TestRepeatedCodeRequestsAuditedOnOneRow(t *testing.T) {
	e := webtest.New(t, webtest.WithArgs("--test-numbers", "+1 555 010 0999:12345678"))
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	for range 20 {
		e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectFail(t, "RATELIMIT") // the resend cooldown
		e.JSON(webtest.LoginParams("15550100999")).ExpectOK(t)
	}
	for _, typ := range []string{"code_rate_limited", "code_requested"} {
		q := "FROM audit_log WHERE type = ? AND repeats IS NOT NULL"
		if rows, events := e.Count("SELECT COUNT(*) "+q, typ), e.Count("SELECT SUM(1 + repeats) "+q, typ); rows != 1 || events != 20 {
			t.Errorf("%s: %d rows for %d events, want 1 for 20", typ, rows, events)
		}
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'code_requested' AND repeats IS NULL"); n != 1 {
		t.Errorf("%d rows for the one code sent, want 1 of its own", n)
	}
	e.Clock.Advance(61 * time.Minute)
	e.JSON(webtest.LoginParams("15550100999")).ExpectOK(t)
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'code_requested' AND repeats IS NOT NULL"); n != 2 {
		t.Errorf("%d test-number rows after an hour, want 2", n)
	}
	// The dashboard shows the count.
	a := e.AdminLogin("root", "owner")
	page := a.Get("/admin/audit?type=code_rate_limited")
	if !strings.Contains(string(page.Body), "and 19 more like it from this network") {
		t.Errorf("the audit page does not show the repeats")
	}
}
