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
	want := map[string]string{"stat-users": "1", "stat-today": "1", "stat-seen": "1", "stat-tokens": "1", "stat-codes": "2", "stat-verified": "1", "stat-failed": "1", "stat-sent": "1",
		"stat-month": "1", "stat-conversion": "50%", "stat-delivery-failed": "0"}
	for id, v := range want {
		if got := stat(id); got != v {
			t.Errorf("%s = %q, want %q", id, got, v)
		}
	}
	// Each figure links to the list behind it, and that list agrees.
	if href, _ := r.TestID(t, "stat-seen").Attr("href"); href != "/admin/users?active=1" {
		t.Errorf("active today links to %q", href)
	} else if got := a.Get(href).TestIDText(t, "users-total"); got != "1 user" {
		t.Errorf("the list behind active today says %q", got)
	}
	if href, _ := r.TestID(t, "stat-failed").Attr("href"); href != "/admin/audit?type=code_failed" {
		t.Errorf("wrong codes link to %q", href)
	} else if n := a.Get(href).CountTestID(t, "audit-row"); n != 1 {
		t.Errorf("the audit list behind wrong codes has %d rows", n)
	}
	if href, _ := r.TestID(t, "stat-verified").Attr("href"); href != "/admin/codes?state=verified" {
		t.Errorf("codes verified link to %q", href)
	} else if n := a.Get(href).CountTestID(t, "code-row"); n != 1 {
		t.Errorf("the list behind codes verified has %d rows", n)
	}
	if n := r.HTML(t).Find("figure.chart svg rect").Length(); n != 90 {
		t.Errorf("%d bars, want 90 (three 30-day charts)", n)
	}
	expectIn(t, r, "2026-03-02: 1")
	if strings.Contains(body(r), "style=") {
		t.Error("inline style attribute: the CSP forbids it")
	}
}
