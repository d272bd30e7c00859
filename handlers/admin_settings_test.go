package handlers_test

import (
	"strings"
	"testing"

	"roster/web/webtest"
)

func TestDemoCodeBannerAndSettings(t *testing.T) {
	e := webtest.New(t, webtest.WithArgs("--demo-code", "12341234", "--test-numbers", "+15555550100:43214321"))
	a := e.AdminLogin("alice", "owner")
	for _, p := range []string{"/admin/", "/admin/users", "/admin/codes", "/admin/audit", "/admin/settings"} {
		expectTestIDs(t, a.Get(p), "demo-banner")
	}
	// Not on the sign-in page, which anyone can fetch: the shared code is
	// guessable, so the mode is not announced to the public.
	if n := e.Browser().Get("/admin/login").CountTestID(t, "demo-banner"); n != 0 {
		t.Error("the sign-in page announces demo-code mode")
	}
	r := a.Get("/admin/settings")
	expectIn(t, r, "otp_ttl", "5m0s", "ON ([redacted])", "+15555550100:[redacted]")
	if strings.Contains(body(r), "12341234") || strings.Contains(body(r), "43214321") {
		t.Error("settings show a secret")
	}
	r = a.Post("/admin/codes/resend", map[string]string{"phone": "+12015550123"})
	expectIn(t, r, "demo-code mode is on")
}
