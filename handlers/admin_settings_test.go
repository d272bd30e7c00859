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
	expectIn(t, r, "ON (the code is not shown)", "+15555550100 (code hidden)")
	if strings.Contains(body(r), "12341234") || strings.Contains(body(r), "43214321") {
		t.Error("settings show a secret")
	}
	// Grouped, readable values, each with where it came from.
	setting := func(name string) (value, source string) {
		s := r.TestID(t, "setting-"+name)
		return strings.TrimSpace(s.Find(webtest.TestIDSelector("setting-value")).Text()), strings.TrimSpace(s.Find(webtest.TestIDSelector("setting-source")).Text())
	}
	for name, want := range map[string][2]string{
		"otp-ttl":              {"5 min", "default"},
		"token-lifetime":       {"365 days", "default"},
		"demo-code":            {"ON (the code is not shown)", "from the command line"},
		"new-database":         {"no", "default"},
		"ROSTER_SMTP_PASSWORD": {"not set", "default"},
		"ROSTER_OTP_KEY":       {"not set: generated once into the data directory's secrets/", "default"},
	} {
		if v, src := setting(name); v != want[0] || src != want[1] {
			t.Errorf("%s: %q %q, want %q %q", name, v, src, want[0], want[1])
		}
	}
	for _, g := range []string{"server", "sign-in", "delivery", "contacts", "files", "events", "secrets"} {
		expectTestIDs(t, r, "settings-"+g)
	}
	if n := r.TestID(t, "settings-sign-in").Find(webtest.TestIDSelector("setting-otp-ttl")).Length(); n != 1 {
		t.Error("otp-ttl is not in the sign-in policy group")
	}
	if strings.Contains(body(r), "map[") || strings.Contains(body(r), "0m0s") {
		t.Error("a Go value on the settings page")
	}
	r = a.Post("/admin/codes/resend", map[string]string{"phone": "+12015550123"})
	expectIn(t, r, "demo-code mode is on")
}
