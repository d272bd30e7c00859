package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"roster/web/webtest"
)

func TestSignedOutVisitorsGoToSignIn(t *testing.T) {
	e := webtest.New(t)
	for _, p := range []string{"/admin/", "/admin/users?q=12", "/admin/users/1", "/admin/codes", "/admin/outbox", "/admin/audit", "/admin/audit.csv", "/admin/settings"} {
		r := e.Browser().Get(p)
		expectStatus(t, r, http.StatusSeeOther)
		if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, "/admin/login") {
			t.Errorf("%s: redirect to %q", p, loc)
		}
	}
	// htmx requests get HX-Redirect, not a redirect that htmx would swap in.
	req := httptest.NewRequest(http.MethodPost, "/admin/users/1/unblock", nil)
	req.Header.Set("HX-Request", "true")
	r := e.Browser().Do(req)
	expectStatus(t, r, http.StatusUnauthorized)
	if r.Header.Get("HX-Redirect") != "/admin/login" {
		t.Errorf("HX-Redirect = %q", r.Header.Get("HX-Redirect"))
	}
	// The sign-in form keeps a local "next" and ignores others.
	a := e.Browser()
	a.Get("/admin/login?next=" + "%2Fadmin%2Fcodes")
	e.NewAdmin("alice", "operator")
	r = a.PostForm("/admin/login", map[string]string{"name": "alice", "password": webtest.AdminPassword, "next": "/admin/codes"}, nil)
	if r.Header.Get("Location") != "/admin/codes" {
		t.Errorf("next not followed: %q", r.Header.Get("Location"))
	}
	b := e.Browser()
	b.Get("/admin/login")
	r = b.PostForm("/admin/login", map[string]string{"name": "alice", "password": webtest.AdminPassword, "next": "//evil.example/admin/"}, nil)
	if r.Header.Get("Location") != "/admin/" {
		t.Errorf("foreign next followed: %q", r.Header.Get("Location"))
	}
}

func TestLoginAnswersAndThrottle(t *testing.T) {
	e := webtest.New(t)
	e.NewAdmin("alice", "owner")
	unknown := e.Browser().Login("mallory", "whatever password")
	wrong := e.Browser().Login("alice", "wrong password!")
	expectStatus(t, unknown, http.StatusUnauthorized)
	expectStatus(t, wrong, http.StatusUnauthorized)
	pick := func(r *webtest.Response) string {
		return r.TestIDText(t, "login-error")
	}
	if pick(unknown) == "" || pick(unknown) != pick(wrong) {
		t.Errorf("unknown name and wrong password answer differently: %q vs %q", pick(unknown), pick(wrong))
	}
	for range 4 {
		e.Browser().Login("alice", "wrong password!")
	}
	// Fifth failure reached: even the right password is refused now.
	r := e.Browser().Login("alice", webtest.AdminPassword)
	expectStatus(t, r, http.StatusTooManyRequests)
	expectIn(t, r, "Too many failed sign-ins")
	e.Clock.Advance(16 * time.Minute)
	expectStatus(t, e.Browser().Login("alice", webtest.AdminPassword), http.StatusSeeOther)
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_login_failed'"); n < 5 {
		t.Errorf("%d failed logins audited", n)
	}
	// Without the sign-in form's token the post is refused.
	b := e.Browser()
	r = b.PostForm("/admin/login", map[string]string{"name": "alice", "password": webtest.AdminPassword, "_csrf": ""}, nil)
	expectStatus(t, r, http.StatusForbidden)
}

func TestSessionTimeoutsAndRevocation(t *testing.T) {
	e := webtest.New(t)
	a := e.AdminLogin("alice", "owner")
	e.Clock.Advance(29 * time.Minute)
	expectStatus(t, a.Get("/admin/users"), http.StatusOK)
	e.Clock.Advance(31 * time.Minute) // idle
	expectStatus(t, a.Get("/admin/users"), http.StatusSeeOther)

	// Absolute timeout: active every 20 minutes, still out after 12 hours.
	b := e.AdminLogin("bob", "owner")
	for range 35 {
		e.Clock.Advance(20 * time.Minute)
		expectStatus(t, b.Get("/admin/settings"), http.StatusOK)
	}
	e.Clock.Advance(20 * time.Minute)
	expectStatus(t, b.Get("/admin/settings"), http.StatusSeeOther)

	// A revoked session (signed out elsewhere, or by an owner) ends at once.
	c := e.AdminLogin("carol", "owner")
	stolen := c.Cookies["roster_admin"]
	expectTestIDs(t, c.Post("/admin/logout", nil), "login-form")
	thief := e.Browser()
	thief.Cookies["roster_admin"] = stolen
	expectStatus(t, thief.Get("/admin/"), http.StatusSeeOther)

	d := e.AdminLogin("dave", "owner")
	if n, err := e.Server.Admins().RevokeSessionsByName(t.Context(), "dave", "cli"); n != 1 || err != nil {
		t.Fatalf("revoked %d sessions: %v", n, err)
	}
	expectStatus(t, d.Get("/admin/"), http.StatusSeeOther)
}

func TestCSRF(t *testing.T) {
	e := webtest.New(t)
	uid, tok := e.SignedInUser(webtest.USPhone, "phone-a")
	a := e.AdminLogin("alice", "owner")
	path := "/admin/users/" + uid + "/revoke-all"
	r := a.PostForm(path, map[string]string{"password": webtest.AdminPassword}, nil)
	expectStatus(t, r, http.StatusForbidden)
	expectIn(t, r, "CSRF")
	r = a.PostForm(path, map[string]string{"password": webtest.AdminPassword, "_csrf": "forged"}, nil)
	expectStatus(t, r, http.StatusForbidden)
	// Another admin's token is not this session's.
	b := e.AdminLogin("bob", "owner")
	r = a.PostForm(path, map[string]string{"password": webtest.AdminPassword, "_csrf": b.CSRF}, nil)
	expectStatus(t, r, http.StatusForbidden)
	// The token only counts in the header or the form body: in the query
	// string (where logs, history and Referer keep it) it is refused.
	r = a.PostForm(path+"?_csrf="+a.CSRF, map[string]string{"password": webtest.AdminPassword}, nil)
	expectStatus(t, r, http.StatusForbidden)
	e.SetNotify(tok).ExpectOK(t)
	// The header form (htmx) works.
	r = a.PostForm(path, map[string]string{"password": webtest.AdminPassword}, map[string]string{"X-CSRF-Token": a.CSRF, "HX-Request": "true"})
	expectStatus(t, r, http.StatusOK)
	e.SetNotify(tok).ExpectFail(t, "AUTHFAIL")
}

func TestViewerIsRefusedEveryChange(t *testing.T) {
	e := webtest.New(t)
	uid, tok := e.SignedInUser(webtest.USPhone, "phone-a")
	var sid string
	e.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM sessions LIMIT 1").Scan(&sid)
	v := e.AdminLogin("victor", "viewer")
	for _, p := range []string{"/admin/", "/admin/users", "/admin/users/" + uid, "/admin/codes", "/admin/outbox", "/admin/audit", "/admin/settings"} {
		expectStatus(t, v.Get(p), http.StatusOK)
	}
	page := v.Get("/admin/users/" + uid)
	if page.CountTestID(t, "revoke-session") != 0 || page.CountTestID(t, "block") != 0 {
		t.Error("a viewer is shown action buttons")
	}
	audits := e.Count("SELECT COUNT(*) FROM audit_log")
	for _, p := range []string{"/sessions/" + sid + "/revoke", "/revoke-all", "/block", "/unblock", "/delete", "/resend"} {
		r := v.Post("/admin/users/"+uid+p, map[string]string{"password": webtest.AdminPassword, "confirm": "+" + webtest.USPhone})
		expectStatus(t, r, http.StatusForbidden)
		expectIn(t, r, "viewer")
	}
	expectStatus(t, v.Post("/admin/codes/resend", map[string]string{"phone": "+" + webtest.USPhone}), http.StatusForbidden)
	e.SetNotify(tok).ExpectOK(t)
	if n := e.Count("SELECT COUNT(*) FROM audit_log"); n != audits {
		t.Errorf("the viewer's refused posts changed the audit log: %d -> %d", audits, n)
	}
	if n := e.Count("SELECT COUNT(*) FROM users WHERE blocked_until IS NOT NULL"); n != 0 {
		t.Error("a viewer blocked a user")
	}
	// A viewer may still sign out.
	expectTestIDs(t, v.Post("/admin/logout", nil), "login-form")
}

// What each role may do, by form post and by htmx; every refusal is a
// notice inside the dashboard, with #content for the next swap.
func TestRolesAndCSRFByScenario(t *testing.T) {
	withUser := func(t testing.TB, e *webtest.Env) {
		if id, _ := e.SignedInUser(webtest.USPhone, "phone-a"); id != "1" {
			t.Fatalf("user id %s, want 1", id)
		}
	}
	refused := func(words string) func(testing.TB, *webtest.Env, *webtest.Response) {
		return func(t testing.TB, e *webtest.Env, r *webtest.Response) {
			expectContent(t, e, r)
			if got := r.TestIDText(t, "notice-error"); !strings.Contains(got, words) {
				t.Errorf("notice %q lacks %q", got, words)
			}
			if n := e.Count("SELECT COUNT(*) FROM users WHERE blocked_until IS NOT NULL"); n != 0 {
				t.Error("a refused post blocked the user")
			}
		}
	}
	block := map[string]string{"password": webtest.AdminPassword}
	webtest.Run(t, []webtest.Scenario{
		{
			Name: "a viewer reads the user page without action forms", SignedInAs: "viewer", Before: withUser,
			URL:             "/admin/users/1",
			ExpectedTestIDs: map[string]int{"profile": 1, "session-row": 1, "revoke-session": 0, "block-form": 0, "delete-form": 0, "resend-code": 0},
		},
		{
			Name: "a viewer's form post is refused", SignedInAs: "viewer", Before: withUser,
			Method: http.MethodPost, URL: "/admin/users/1/block", Form: block,
			ExpectedStatus: http.StatusForbidden, After: refused("viewer"),
		},
		{
			Name: "a viewer's htmx post is refused", SignedInAs: "viewer", Before: withUser, HTMX: true,
			Method: http.MethodPost, URL: "/admin/users/1/block", Form: block,
			ExpectedStatus: http.StatusForbidden, After: refused("viewer"),
		},
		{
			Name: "an htmx post without the CSRF header is refused", SignedInAs: "owner", Before: withUser,
			Headers: map[string]string{"HX-Request": "true"},
			Method:  http.MethodPost, URL: "/admin/users/1/block", Form: map[string]string{"password": webtest.AdminPassword, "_csrf": ""},
			ExpectedStatus: http.StatusForbidden, After: refused("CSRF"),
		},
		{
			Name: "an operator blocks by htmx and gets the page in place", SignedInAs: "operator", Before: withUser, HTMX: true,
			Method: http.MethodPost, URL: "/admin/users/1/block", Form: block,
			ExpectedTestIDs:    map[string]int{"notice": 1, "unblock": 1, "block-form": 0},
			ExpectedTestIDText: map[string]string{"notice": "User blocked; 1 session revoked."},
			After: func(t testing.TB, e *webtest.Env, r *webtest.Response) {
				expectContent(t, e, r)
				if n := e.Count("SELECT COUNT(*) FROM users WHERE blocked_until IS NOT NULL"); n != 1 {
					t.Error("the user was not blocked")
				}
			},
		},
		{
			Name: "an owner's form post is redirected, the notice kept for the next page", SignedInAs: "owner", Before: withUser,
			Method: http.MethodPost, URL: "/admin/users/1/unblock", Form: map[string]string{},
			ExpectedStatus: http.StatusSeeOther,
			After: func(t testing.TB, _ *webtest.Env, r *webtest.Response) {
				if loc := r.Header.Get("Location"); loc != "/admin/users/1" {
					t.Errorf("redirect to %q", loc)
				}
			},
		},
	})
}

// A session that ends during an htmx click sends the admin to the sign-in
// form saying why, and back to the page the click was made on.
func TestExpiredSessionKeepsThePage(t *testing.T) {
	e := webtest.New(t)
	uid, _ := e.SignedInUser(webtest.USPhone, "a")
	a := e.AdminLogin("alice", "owner")
	e.Clock.Advance(31 * time.Minute) // idle timeout
	req := httptest.NewRequest(http.MethodPost, "/admin/users/"+uid+"/unblock", nil)
	req.Header.Set("HX-Request", "true")
	req.Header.Set("HX-Current-URL", "http://localhost/admin/users/"+uid+"?tab=codes")
	req.Header.Set("X-CSRF-Token", a.CSRF)
	r := a.Do(req)
	expectStatus(t, r, http.StatusUnauthorized)
	want := "/admin/login?expired=1&next=%2Fadmin%2Fusers%2F" + uid + "%3Ftab%3Dcodes"
	if got := r.Header.Get("HX-Redirect"); got != want {
		t.Fatalf("HX-Redirect = %q, want %q", got, want)
	}
	form := a.Get(want)
	expectIn(t, form, "Your session expired")
	if v, _ := form.HTML(t).Find(`input[name="next"]`).Attr("value"); v != "/admin/users/"+uid+"?tab=codes" {
		t.Errorf("next = %q", v)
	}
	// A plain GET keeps its own address; a foreign HX-Current-URL is dropped.
	b := e.AdminLogin("bob", "viewer")
	e.Clock.Advance(31 * time.Minute)
	if loc := b.Get("/admin/codes?q=1").Header.Get("Location"); loc != "/admin/login?expired=1&next=%2Fadmin%2Fcodes%3Fq%3D1" {
		t.Errorf("GET redirect %q", loc)
	}
	req = httptest.NewRequest(http.MethodGet, "/admin/users", nil)
	req.Header.Set("HX-Request", "true")
	req.Header.Set("HX-Current-URL", "http://evil.example//evil.example/")
	if got := b.Do(req).Header.Get("HX-Redirect"); got != "/admin/login?expired=1" {
		t.Errorf("foreign page kept: %q", got)
	}
	// Never signed in: no "expired".
	if loc := e.Browser().Get("/admin/codes").Header.Get("Location"); loc != "/admin/login?next=%2Fadmin%2Fcodes" {
		t.Errorf("signed-out redirect %q", loc)
	}
}
