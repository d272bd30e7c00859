package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"roster/web/webtest"
)

// twoUsers signs in two users (ids 1 and 2), each on one device.
func twoUsers(t testing.TB, e *webtest.Env) {
	e.SignIn(webtest.USPhone, "a")
	e.SignIn(webtest.FRPhone, "b")
}

func bulkBody(csrf string, fields map[string]string, ids ...string) string {
	v := url.Values{}
	for k, s := range fields {
		v.Set(k, s)
	}
	for _, id := range ids {
		v.Add("id", id)
	}
	if csrf != "" {
		v.Set("_csrf", csrf)
	}
	return v.Encode()
}

// Bulk actions on the selected users: the same re-check as one user's page,
// one audit entry per user; viewers and forged posts change nothing.
func TestBulkUserActions(t *testing.T) {
	live := func(want int64) func(testing.TB, *webtest.Env, *webtest.Response) {
		return func(t testing.TB, e *webtest.Env, _ *webtest.Response) {
			if n := e.Count("SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL"); n != want {
				t.Errorf("%d live sessions, want %d", n, want)
			}
		}
	}
	form := func(fields map[string]string) string { return bulkBody("", fields, "1", "2") }
	pw := map[string]string{"action": "revoke", "password": webtest.AdminPassword}
	webtest.Run(t, []webtest.Scenario{
		{Name: "a viewer is refused", SignedInAs: "viewer", Before: twoUsers, Method: http.MethodPost, URL: "/admin/users/bulk",
			Body: form(pw), Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, HTMX: true,
			ExpectedStatus: http.StatusForbidden, After: live(2)},
		{Name: "no CSRF token", SignedInAs: "operator", Before: twoUsers, Method: http.MethodPost, URL: "/admin/users/bulk",
			Body: form(pw), Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			ExpectedStatus: http.StatusForbidden, After: live(2)},
		{Name: "a wrong password", SignedInAs: "operator", Before: twoUsers, Method: http.MethodPost, URL: "/admin/users/bulk", HTMX: true,
			Body: form(map[string]string{"action": "revoke", "password": "wrong password"}), Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			ExpectedStatus: http.StatusForbidden, ExpectedContent: []string{"Your password was wrong"}, After: live(2)},
		{Name: "revoke both, one audit entry each", SignedInAs: "operator", Before: twoUsers, Method: http.MethodPost, URL: "/admin/users/bulk?q=%2B1", HTMX: true,
			Body: form(pw), Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			ExpectedTestIDText: map[string]string{"notice": "Signed out 2 users everywhere; 2 sessions revoked."},
			ExpectedTestIDs:    map[string]int{"user-row": 1}, // the list keeps its filter
			After: func(t testing.TB, e *webtest.Env, r *webtest.Response) {
				live(0)(t, e, r)
				if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_revoke_all' AND actor = 'admin:scenario-operator'"); n != 2 {
					t.Errorf("%d audit entries, want 2", n)
				}
			}},
		{Name: "delete needs the count typed", SignedInAs: "operator", Before: twoUsers, Method: http.MethodPost, URL: "/admin/users/bulk", HTMX: true,
			Body: form(map[string]string{"action": "delete", "password": webtest.AdminPassword, "confirm": "3"}), Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			ExpectedStatus: http.StatusBadRequest,
			After: func(t testing.TB, e *webtest.Env, _ *webtest.Response) {
				if n := e.Count("SELECT COUNT(*) FROM users"); n != 2 {
					t.Error("users deleted without the confirmation")
				}
			}},
		// The block date reads as on one user's page; other actions ignore it.
		{Name: "a block date not YYYY-MM-DD", SignedInAs: "operator", Before: twoUsers, Method: http.MethodPost, URL: "/admin/users/bulk", HTMX: true,
			Body: form(map[string]string{"action": "block", "until": "10/03/2026", "password": webtest.AdminPassword}), Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			ExpectedStatus: http.StatusBadRequest, ExpectedTestIDText: map[string]string{"notice-error": "The date must be written YYYY-MM-DD."}, After: live(2)},
		{Name: "a block ending in the past", SignedInAs: "operator", Before: twoUsers, Method: http.MethodPost, URL: "/admin/users/bulk", HTMX: true,
			Body: form(map[string]string{"action": "block", "until": "2020-01-01", "password": webtest.AdminPassword}), Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			ExpectedStatus: http.StatusBadRequest, ExpectedTestIDText: map[string]string{"notice-error": "The block must end in the future."}, After: live(2)},
		{Name: "revoke ignores the block date", SignedInAs: "operator", Before: twoUsers, Method: http.MethodPost, URL: "/admin/users/bulk", HTMX: true,
			Body: form(map[string]string{"action": "revoke", "until": "not a date", "password": webtest.AdminPassword}), Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			ExpectedTestIDText: map[string]string{"notice": "Signed out 2 users everywhere; 2 sessions revoked."}, After: live(0)},
		{Name: "block until a date", SignedInAs: "operator", Before: twoUsers, Method: http.MethodPost, URL: "/admin/users/bulk", HTMX: true,
			Body: form(map[string]string{"action": "block", "until": "2026-03-10", "password": webtest.AdminPassword}), Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			ExpectedTestIDText: map[string]string{"notice": "Blocked 2 users; 2 sessions revoked."},
			After: func(t testing.TB, e *webtest.Env, _ *webtest.Response) {
				if n := e.Count("SELECT COUNT(*) FROM users WHERE blocked_until = ?", time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC).UnixMilli()); n != 2 {
					t.Errorf("%d users blocked until the end of 2026-03-10", n)
				}
			}},
		{Name: "block and delete", SignedInAs: "owner", Before: twoUsers, Method: http.MethodPost, URL: "/admin/users/bulk", HTMX: true,
			Body: form(map[string]string{"action": "block", "password": webtest.AdminPassword}), Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			ExpectedTestIDText: map[string]string{"notice": "Blocked 2 users; 2 sessions revoked."},
			After: func(t testing.TB, e *webtest.Env, _ *webtest.Response) {
				if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_block'"); n != 2 {
					t.Errorf("%d block entries", n)
				}
			}},
	})

	// The list offers the checkboxes and the form to those who can write.
	e := webtest.New(t)
	twoUsers(t, e)
	op := e.AdminLogin("olga", "operator")
	r := op.Get("/admin/users")
	if n := r.CountTestID(t, "select-user"); n != 2 || r.CountTestID(t, "bulk-form") != 1 {
		t.Errorf("%d checkboxes", n)
	}
	if n := e.AdminLogin("vera", "viewer").Get("/admin/users").CountTestID(t, "select-user"); n != 0 {
		t.Error("a viewer sees checkboxes")
	}
	// Without JavaScript: a redirect back to the list, the notice as a flash.
	resp := op.Do(newForm(t, "/admin/users/bulk?state=active", bulkBody(op.CSRF, map[string]string{"action": "delete", "confirm": "2", "password": webtest.AdminPassword}, "1", "2")))
	expectStatus(t, resp, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != "/admin/users?state=active" {
		t.Errorf("redirect to %q", loc)
	}
	if n := e.Count("SELECT COUNT(*) FROM users"); n != 0 {
		t.Errorf("%d users left", n)
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_delete_user'"); n != 2 {
		t.Errorf("%d delete entries", n)
	}
	if !strings.Contains(body(op.Get("/admin/users?state=active")), "Deleted 2 users") {
		t.Error("no flash after the redirect")
	}
}

func newForm(t testing.TB, path, body string) *http.Request {
	req, err := http.NewRequest(http.MethodPost, "http://localhost"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

// Those who may act get the header's select-all box (shown by admin.js) and
// the selected count in the bulk form's summary; viewers get neither.
func TestBulkSelectAllMarkup(t *testing.T) {
	e := webtest.New(t)
	twoUsers(t, e)
	r := e.AdminLogin("olga", "operator").Get("/admin/users")
	box := r.TestID(t, "select-all")
	if box.Length() != 1 || box.Closest("th").Length() != 1 {
		t.Fatalf("no select-all box in the table's header")
	}
	if label, _ := box.Attr("aria-label"); label == "" {
		t.Error("the select-all box has no label")
	}
	if r.CountTestID(t, "selected-count") != 1 || r.TestID(t, "selected-count").Closest("summary").Length() != 1 {
		t.Error("no selected count in the bulk form's summary")
	}
	v := e.AdminLogin("victor", "viewer").Get("/admin/users")
	if v.CountTestID(t, "select-all") != 0 || v.CountTestID(t, "selected-count") != 0 {
		t.Error("a viewer gets bulk selection")
	}
}
