package handlers_test

import (
	"strings"
	"testing"

	"roster/web/webtest"
)

func TestOverview(t *testing.T) {
	e := webtest.New(t)
	a := e.AdminLogin("alice", "owner")
	r := a.Get("/admin/")
	expectTestIDs(t, r, "stat-users", "chart-signups", "stat-syncs")
	e.SignedInUser(webtest.USPhone, "a")
	e.JSON(map[string]any{"op": "login", "appid": "a", "phone": webtest.FRPhone}).ExpectOK(t)
	e.JSON(map[string]any{"op": "login", "appid": "a", "phone": webtest.FRPhone, "otp": "000000"})
	r = a.Get("/admin/")
	stat := func(id string) string {
		return strings.TrimSpace(r.TestID(t, id).Find(".stat-value").Text())
	}
	want := map[string]string{"stat-users": "1", "stat-today": "1", "stat-seen": "1", "stat-tokens": "1", "stat-codes": "2", "stat-verified": "1", "stat-failed": "1", "stat-sent": "1"}
	for id, v := range want {
		if got := stat(id); got != v {
			t.Errorf("%s = %q, want %q", id, got, v)
		}
	}
	if n := r.HTML(t).Find("figure.chart svg rect").Length(); n != 90 {
		t.Errorf("%d bars, want 90 (three 30-day charts)", n)
	}
	expectIn(t, r, "2026-03-02: 1")
	if strings.Contains(body(r), "style=") {
		t.Error("inline style attribute: the CSP forbids it")
	}
}
