package web_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"roster/models"
	"roster/web"
	"roster/web/webtest"
)

func body(r *webtest.Response) string { return string(r.Body) }

func expectStatus(t testing.TB, r *webtest.Response, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d; body %.2000s", r.Status, want, r.Body)
	}
}

func expectIn(t testing.TB, r *webtest.Response, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(body(r), s) {
			t.Errorf("page lacks %q; body %.3000s", s, r.Body)
		}
	}
}

// userID signs a number in and returns its user id (as text) and token.
func signedInUser(t testing.TB, e *webtest.Env, digits, device string) (string, string) {
	t.Helper()
	tok := e.SignIn(digits, device)
	var id string
	if err := e.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM users WHERE phone = ?", "+"+digits).Scan(&id).Error; err != nil || id == "" {
		t.Fatalf("no user for %s: %v", digits, err)
	}
	return id, tok
}

func TestFirstStartCreatesOwnerOnce(t *testing.T) {
	e := webtest.New(t)
	// The password is in a file of mode 0600 whose path is logged; the log
	// never holds the password.
	path := filepath.Join(e.DataDir, "owner-password.txt")
	if !strings.Contains(e.Logs(), "password_file="+path) {
		t.Fatalf("the password file is not named in the log: %s", e.Logs())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("password file mode %o", fi.Mode().Perm())
	}
	pw := strings.TrimSpace(string(raw))
	if len(pw) < 16 || strings.Contains(e.Logs(), pw) {
		t.Errorf("password %d characters, in the log: %v", len(pw), strings.Contains(e.Logs(), pw))
	}
	a := e.Browser()
	r := a.Login("admin", pw)
	expectStatus(t, r, http.StatusSeeOther)
	if r.Header.Get("Location") != "/admin/" {
		t.Errorf("redirect to %q", r.Header.Get("Location"))
	}
	expectIn(t, a.Get("/admin/"), "Overview", `data-testid="admin-name">admin<`)
}

func TestOwnerPasswordFromEnvironment(t *testing.T) {
	const pw = "from the environment 123"
	e := webtest.New(t, webtest.WithOptions(func(o *web.Options) {
		o.Getenv = func(k string) string {
			if k == "ROSTER_ADMIN_PASSWORD" {
				return pw
			}
			return ""
		}
	}))
	if strings.Contains(e.Logs(), pw) || strings.Contains(e.Logs(), "password=") {
		t.Error("a password from the environment must not be logged")
	}
	expectStatus(t, e.Browser().Login("admin", pw), http.StatusSeeOther)
}

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
		return regexp.MustCompile(`data-testid="login-error">([^<]*)<`).FindString(body(r))
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

func TestSessionCookie(t *testing.T) {
	e := webtest.New(t)
	e.NewAdmin("alice", "owner")
	a := e.Browser()
	form := a.Get("/admin/login")
	before := a.Cookies["roster_admin"]
	if before == "" {
		t.Fatalf("no cookie with the sign-in form: %v", form.Header)
	}
	r := a.Login("alice", webtest.AdminPassword)
	sc := r.Header.Get("Set-Cookie")
	for _, want := range []string{"roster_admin=", "HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=43200"} {
		if !strings.Contains(sc, want) {
			t.Errorf("cookie %q lacks %q", sc, want)
		}
	}
	if strings.Contains(sc, "Secure") {
		t.Errorf("Secure cookie over plain http: %q", sc)
	}
	if a.Cookies["roster_admin"] == before {
		t.Error("the cookie was not replaced at sign-in")
	}
	if n := e.Count("SELECT COUNT(*) FROM admin_sessions"); n != 1 {
		t.Errorf("%d admin sessions", n)
	}
	// The session id is stored only hashed; the cookie value is encrypted.
	if strings.Contains(e.Logs(), a.Cookies["roster_admin"]) {
		t.Error("the cookie was logged")
	}

	tls := webtest.New(t, webtest.WithArgs("--base-url", "https://roster.example"))
	tls.NewAdmin("alice", "owner")
	b := tls.Browser()
	r = b.Get("/admin/login")
	sc = r.Header.Get("Set-Cookie")
	if !strings.HasPrefix(sc, "__Host-roster_admin=") || !strings.Contains(sc, "Secure") {
		t.Errorf("over TLS the cookie must be __Host- and Secure: %q", sc)
	}
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
	expectIn(t, c.Post("/admin/logout", nil), `data-testid="login-form"`)
	thief := e.Browser()
	thief.Cookies["roster_admin"] = stolen
	expectStatus(t, thief.Get("/admin/"), http.StatusSeeOther)

	d := e.AdminLogin("dave", "owner")
	var id int64
	e.Server.DB().Read.Raw("SELECT id FROM admins WHERE name = 'dave'").Scan(&id)
	if err := e.Server.Admins().RevokeSessions(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	expectStatus(t, d.Get("/admin/"), http.StatusSeeOther)
}

func TestCSRF(t *testing.T) {
	e := webtest.New(t)
	uid, tok := signedInUser(t, e, webtest.USPhone, "phone-a")
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
	e.SetNotify(tok).ExpectOK(t)
	// The header form (htmx) works.
	r = a.PostForm(path, map[string]string{"password": webtest.AdminPassword}, map[string]string{"X-CSRF-Token": a.CSRF, "HX-Request": "true"})
	expectStatus(t, r, http.StatusOK)
	e.SetNotify(tok).ExpectFail(t, "AUTHFAIL")
}

func TestViewerIsRefusedEveryChange(t *testing.T) {
	e := webtest.New(t)
	uid, tok := signedInUser(t, e, webtest.USPhone, "phone-a")
	var sid string
	e.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM sessions LIMIT 1").Scan(&sid)
	v := e.AdminLogin("victor", "viewer")
	for _, p := range []string{"/admin/", "/admin/users", "/admin/users/" + uid, "/admin/codes", "/admin/outbox", "/admin/audit", "/admin/settings"} {
		expectStatus(t, v.Get(p), http.StatusOK)
	}
	page := v.Get("/admin/users/" + uid)
	if strings.Contains(body(page), `data-testid="revoke-session"`) || strings.Contains(body(page), `data-testid="block"`) {
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
	expectIn(t, v.Post("/admin/logout", nil), `data-testid="login-form"`)
}

func TestPasswordRecheck(t *testing.T) {
	e := webtest.New(t)
	uid, tok := signedInUser(t, e, webtest.USPhone, "phone-a")
	a := e.AdminLogin("alice", "operator")
	for _, p := range []string{"/revoke-all", "/block", "/delete"} {
		r := a.Post("/admin/users/"+uid+p, map[string]string{"password": "not my password", "confirm": "+" + webtest.USPhone})
		expectStatus(t, r, http.StatusForbidden)
		expectIn(t, r, "Your password was wrong")
	}
	e.SetNotify(tok).ExpectOK(t)
	if n := e.Count("SELECT COUNT(*) FROM users"); n != 1 {
		t.Error("user deleted despite a wrong password")
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_password_recheck_failed'"); n != 3 {
		t.Errorf("%d failed re-checks audited", n)
	}
	// A wrong typed confirmation deletes nothing either.
	r := a.Post("/admin/users/"+uid+"/delete", map[string]string{"password": webtest.AdminPassword, "confirm": "+1999"})
	expectStatus(t, r, http.StatusBadRequest)
	expectIn(t, r, "does not match")
}

func TestHostileNamesAreEscaped(t *testing.T) {
	e := webtest.New(t)
	uid, _ := signedInUser(t, e, webtest.USPhone, `<img src=x onerror=alert(1)>`)
	hostile := `<script>alert("x")</script>&"'`
	if err := e.Server.DB().Write.Exec("UPDATE users SET name = ?, status = ?", hostile, hostile).Error; err != nil {
		t.Fatal(err)
	}
	a := e.AdminLogin("alice", "owner")
	for _, p := range []string{"/admin/users", "/admin/users?q=%3Cscript", "/admin/users/" + uid} {
		r := a.Get(p)
		expectStatus(t, r, http.StatusOK)
		if strings.Contains(body(r), "<script>alert") || strings.Contains(body(r), "<img src=x") {
			t.Errorf("%s: unescaped hostile text", p)
		}
		expectIn(t, r, "&lt;script&gt;alert(")
	}
	r := a.Get("/admin/users/" + uid)
	if r.Header.Get("Content-Security-Policy") == "" || r.Header.Get("X-Frame-Options") != "DENY" {
		t.Error("security headers missing on the dashboard")
	}
}

func TestUserListSearchAndPages(t *testing.T) {
	e := webtest.New(t)
	a := e.AdminLogin("alice", "owner")
	r := a.Get("/admin/users")
	expectIn(t, r, `data-testid="empty"`, "No users yet")

	id, _ := signedInUser(t, e, webtest.USPhone, "d1")
	e.Clock.Advance(time.Minute)
	signedInUser(t, e, "12015550124", "d2")
	e.Clock.Advance(time.Minute)
	signedInUser(t, e, webtest.FRPhone, "d3")
	e.Server.DB().Write.Exec("UPDATE users SET name = 'Zoë Martin' WHERE phone = ?", "+"+webtest.FRPhone)
	e.Server.DB().Write.Exec("UPDATE users SET name = 'zed' WHERE phone = ?", "+12015550124")

	cases := []struct {
		q     string
		want  []string
		wantN int
	}{
		{"(201) 555-0123", []string{"+12015550123"}, 1}, // national format, the dashboard's region (US)
		{"+1 201 555 0123", []string{"+12015550123"}, 1},
		{"001 201 555 01", []string{"+12015550123", "+12015550124"}, 2}, // international prefix
		{"201 555", []string{"+12015550123", "+12015550124"}, 2},        // national prefix
		{"+33 6 12", []string{"+33612345678"}, 1},
		{"ZO", []string{"Zoë Martin"}, 1}, // name prefix, any case
		{"z", []string{"Zoë Martin", "zed"}, 2},
		{"nobody", nil, 0},
	}
	for _, c := range cases {
		r := a.Get("/admin/users?q=" + url.QueryEscape(c.q))
		expectStatus(t, r, http.StatusOK)
		if n := strings.Count(body(r), `data-testid="user-row"`); n != c.wantN {
			t.Errorf("q=%q: %d rows, want %d", c.q, n, c.wantN)
		}
		for _, w := range c.want {
			expectIn(t, r, w)
		}
		if c.wantN == 0 {
			expectIn(t, r, "No user matches")
		}
	}
	r = a.Get("/admin/users?q=%28201%29+555-0123")
	expectIn(t, r, "/admin/users/"+id, "Phone number +12015550123")

	// Sorted by last seen, newest first; keyset pages of 50.
	for i := range 55 {
		e.Server.DB().Write.Exec("INSERT INTO users (phone, country_code, name, created_at, profile_at, last_seen_at) VALUES (?, 1, ?, ?, ?, ?)",
			"+1202555"+pad4(i), "bulk", 1000+i, 1000+i, 5000+i)
	}
	r = a.Get("/admin/users")
	if n := strings.Count(body(r), `data-testid="user-row"`); n != 50 {
		t.Fatalf("first page has %d rows", n)
	}
	next := regexp.MustCompile(`href="(/admin/users\?[^"]*after=[^"]*)" data-testid="next-page"`).FindStringSubmatch(body(r))
	if next == nil {
		t.Fatal("no next-page link")
	}
	r2 := a.Get(strings.ReplaceAll(next[1], "&amp;", "&"))
	if n := strings.Count(body(r2), `data-testid="user-row"`); n != 8 {
		t.Errorf("second page has %d rows, want 8", n)
	}
	if strings.Contains(body(r2), "next-page") {
		t.Error("the last page has a next link")
	}
	// Sign-up order and filters stay in the URL.
	r = a.Get("/admin/users?sort=created&inactive=1&unverified=1&state=active")
	expectStatus(t, r, http.StatusOK)
	if n := strings.Count(body(r), `data-testid="user-row"`); n != 50 {
		t.Errorf("filtered page has %d rows", n)
	}
	expectIn(t, r, "sort=created", "inactive=1", "unverified=1", "state=active")
	expectStatus(t, a.Get("/admin/users?after=garbage"), http.StatusOK)
	if strings.Contains(body(r), "contact sync data not available yet") {
		t.Error("the contact-sync columns say they have no data")
	}
}

func pad4(i int) string {
	s := "0000" + itoa(i)
	return s[len(s)-4:]
}

func TestRevokeBlockUnblockDelete(t *testing.T) {
	e := webtest.New(t)
	uid, tokA := signedInUser(t, e, webtest.USPhone, "phone-a")
	e.Clock.Advance(time.Minute)
	tokB := e.SignIn(webtest.USPhone, "tablet-b")
	e.Clock.Advance(time.Minute)
	a := e.AdminLogin("alice", "operator")

	page := a.Get("/admin/users/" + uid)
	expectIn(t, page, "phone-a", "tablet-b")
	var sidA string
	e.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM sessions WHERE device = 'phone-a'").Scan(&sidA)
	r := a.Post("/admin/users/"+uid+"/sessions/"+sidA+"/revoke", nil)
	expectStatus(t, r, http.StatusOK)
	expectIn(t, r, "Session revoked")
	e.SetNotify(tokA).ExpectFail(t, "AUTHFAIL")
	e.SetNotify(tokB).ExpectOK(t)
	r = a.Post("/admin/users/"+uid+"/sessions/"+sidA+"/revoke", nil)
	expectStatus(t, r, http.StatusConflict)
	expectIn(t, r, "already ended")

	// Block until a date: every session goes, sign-in is refused.
	r = a.Post("/admin/users/"+uid+"/block", map[string]string{"password": webtest.AdminPassword, "until": "2026-03-10"})
	expectStatus(t, r, http.StatusOK)
	expectIn(t, r, "User blocked; 1 sessions revoked", "until 2026-03-11 00:00:00 UTC")
	e.SetNotify(tokB).ExpectFail(t, "AUTHFAIL")
	e.JSON(map[string]any{"op": "login", "appid": "a", "phone": webtest.USPhone}).ExpectOK(t) // as for anyone
	e.Verify(webtest.USPhone, e.LastCode("+"+webtest.USPhone)).ExpectFail(t, "BLOCKED")
	r = a.Post("/admin/users/"+uid+"/unblock", nil)
	expectIn(t, r, "User unblocked")
	e.Clock.Advance(time.Minute)
	tokC := e.SignIn(webtest.USPhone, "phone-c")
	// Block indefinitely.
	r = a.Post("/admin/users/"+uid+"/block", map[string]string{"password": webtest.AdminPassword})
	expectIn(t, r, "blocked until unblocked")
	e.SetNotify(tokC).ExpectFail(t, "AUTHFAIL")
	expectIn(t, a.Get("/admin/users?state=blocked"), "+12015550123")
	expectStatus(t, a.Post("/admin/users/"+uid+"/block", map[string]string{"password": webtest.AdminPassword, "until": "2020-01-01"}), http.StatusBadRequest)

	// Every action is in the audit log with the admin as actor.
	for _, typ := range []string{"admin_revoke_session", "admin_block", "admin_unblock"} {
		if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = ? AND actor = 'admin:alice' AND phone = ?", typ, "+"+webtest.USPhone); n == 0 {
			t.Errorf("no %s entry", typ)
		}
	}

	// Delete with typed confirmation (any spacing).
	r = a.Post("/admin/users/"+uid+"/delete", map[string]string{"password": webtest.AdminPassword, "confirm": "+1 2015550123"})
	expectStatus(t, r, http.StatusOK)
	expectIn(t, r, "deleted")
	if n := e.Count("SELECT COUNT(*) FROM users"); n != 0 {
		t.Error("user still there")
	}
	if n := e.Count("SELECT COUNT(*) FROM sessions"); n != 0 {
		t.Error("sessions still there")
	}
	expectStatus(t, a.Get("/admin/users/"+uid), http.StatusNotFound)
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_delete_user'"); n != 1 {
		t.Error("delete not audited")
	}
}

func TestRevokeAll(t *testing.T) {
	e := webtest.New(t)
	uid, tokA := signedInUser(t, e, webtest.USPhone, "a")
	e.Clock.Advance(time.Minute)
	tokB := e.SignIn(webtest.USPhone, "b")
	a := e.AdminLogin("alice", "owner")
	r := a.Post("/admin/users/"+uid+"/revoke-all", map[string]string{"password": webtest.AdminPassword})
	expectStatus(t, r, http.StatusOK)
	expectIn(t, r, "2 sessions revoked")
	e.SetNotify(tokA).ExpectFail(t, "AUTHFAIL")
	e.SetNotify(tokB).ExpectFail(t, "AUTHFAIL")
	if n := e.Count("SELECT COUNT(*) FROM sessions WHERE revoke_reason = 'revoked by an administrator'"); n != 2 {
		t.Errorf("%d sessions revoked by the admin", n)
	}
	expectStatus(t, a.Post("/admin/users/999/revoke-all", map[string]string{"password": webtest.AdminPassword}), http.StatusNotFound)
	// A session is revoked only through its own user's page.
	_, other := signedInUser(t, e, webtest.FRPhone, "c")
	var otherSID string
	e.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM sessions WHERE device = 'c'").Scan(&otherSID)
	r = a.Post("/admin/users/"+uid+"/sessions/"+otherSID+"/revoke", nil)
	expectStatus(t, r, http.StatusNotFound)
	expectIn(t, r, "does not belong")
	e.SetNotify(other).ExpectOK(t)
	expectStatus(t, a.Get("/admin/users/abc"), http.StatusNotFound)
}

func TestResendCodeAndOutbox(t *testing.T) {
	e := webtest.New(t)
	a := e.AdminLogin("alice", "operator")
	expectIn(t, a.Get("/admin/outbox"), `data-testid="outbox-empty"`)
	expectIn(t, a.Get("/admin/codes"), `data-testid="codes-empty"`, `data-testid="unverified-empty"`)

	r := a.Post("/admin/codes/resend", map[string]string{"phone": "(201) 555-0123"})
	expectStatus(t, r, http.StatusOK)
	expectIn(t, r, "Code for +12015550123 sent via console, valid 5 min, 5 tries left.")
	code := e.LastCode("+12015550123")
	r = a.Get("/admin/outbox")
	expectIn(t, r, code, "+12015550123")
	r = a.Get("/admin/codes")
	expectIn(t, r, "sent via console", "+12015550123", `data-testid="unverified-table"`)

	// The quotas apply to admins too: the cooldown refuses an immediate resend.
	r = a.Post("/admin/codes/resend", map[string]string{"phone": "+12015550123"})
	expectStatus(t, r, http.StatusTooManyRequests)
	expectIn(t, r, "No code sent: Please wait")
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_resend_code' AND actor = 'admin:alice'"); n != 2 {
		t.Errorf("%d resends audited", n)
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'code_rate_limited'"); n != 1 {
		t.Errorf("%d refusals audited", n)
	}
	expectIn(t, a.Get("/admin/codes"), "<code>code_rate_limited</code>", "Please wait 30 seconds")
	r = a.Post("/admin/codes/resend", map[string]string{"phone": "hello"})
	expectStatus(t, r, http.StatusBadRequest)
	expectIn(t, r, "Not a phone number")

	// From the user's page.
	uid, _ := signedInUser(t, e, webtest.FRPhone, "d")
	e.Clock.Advance(time.Minute)
	r = a.Post("/admin/users/"+uid+"/resend", nil)
	expectStatus(t, r, http.StatusOK)
	expectIn(t, r, "Code for +33612345678 sent via console")
}

func TestDemoCodeBannerAndSettings(t *testing.T) {
	e := webtest.New(t, webtest.WithArgs("--demo-code", "12341234", "--test-numbers", "+15555550100:43214321"))
	a := e.AdminLogin("alice", "owner")
	for _, p := range []string{"/admin/", "/admin/users", "/admin/codes", "/admin/audit", "/admin/settings"} {
		expectIn(t, a.Get(p), `data-testid="demo-banner"`)
	}
	expectIn(t, e.Browser().Get("/admin/login"), `data-testid="demo-banner"`)
	r := a.Get("/admin/settings")
	expectIn(t, r, "otp_ttl", "5m0s", "ON ([redacted])", "+15555550100:[redacted]")
	if strings.Contains(body(r), "12341234") || strings.Contains(body(r), "43214321") {
		t.Error("settings show a secret")
	}
	r = a.Post("/admin/codes/resend", map[string]string{"phone": "+12015550123"})
	expectIn(t, r, "demo-code mode is on")
}

func TestOverview(t *testing.T) {
	e := webtest.New(t)
	a := e.AdminLogin("alice", "owner")
	r := a.Get("/admin/")
	expectIn(t, r, `data-testid="stat-users"`, `data-testid="chart-signups"`, `data-testid="stat-syncs"`)
	signedInUser(t, e, webtest.USPhone, "a")
	e.JSON(map[string]any{"op": "login", "appid": "a", "phone": webtest.FRPhone}).ExpectOK(t)
	e.JSON(map[string]any{"op": "login", "appid": "a", "phone": webtest.FRPhone, "otp": "000000"})
	r = a.Get("/admin/")
	stat := func(id string) string {
		m := regexp.MustCompile(`data-testid="` + id + `"><span class="stat-value">([^<]*)<`).FindStringSubmatch(body(r))
		if m == nil {
			return ""
		}
		return m[1]
	}
	want := map[string]string{"stat-users": "1", "stat-today": "1", "stat-seen": "1", "stat-tokens": "1", "stat-codes": "2", "stat-verified": "1", "stat-failed": "1", "stat-sent": "1"}
	for id, v := range want {
		if got := stat(id); got != v {
			t.Errorf("%s = %q, want %q", id, got, v)
		}
	}
	if strings.Count(body(r), "<rect ") != 90 {
		t.Errorf("%d bars, want 90 (three 30-day charts)", strings.Count(body(r), "<rect "))
	}
	expectIn(t, r, "2026-03-02: 1")
	if strings.Contains(body(r), "style=") {
		t.Error("inline style attribute: the CSP forbids it")
	}
}

func TestAuditPageAndCSV(t *testing.T) {
	e := webtest.New(t)
	uid, _ := signedInUser(t, e, webtest.USPhone, "=cmd|' /C calc'!A0")
	a := e.AdminLogin("alice", "owner")
	a.Post("/admin/users/"+uid+"/block", map[string]string{"password": webtest.AdminPassword})
	r := a.Get("/admin/audit?phone=%2B1+201+555+0123&type=admin_block")
	expectStatus(t, r, http.StatusOK)
	if n := strings.Count(body(r), `data-testid="audit-row"`); n != 1 {
		t.Errorf("%d rows for the block filter", n)
	}
	r = a.Get("/admin/audit?actor=admin")
	if strings.Contains(body(r), ">api<") {
		t.Error("actor=admin shows api entries")
	}
	expectIn(t, r, "admin:alice", "admin_login")
	expectIn(t, a.Get("/admin/audit?from=2026-03-03"), "No entry matches")
	expectIn(t, a.Get("/admin/audit?from=2026-03-02&to=2026-03-02"), "admin_block")
	expectIn(t, a.Get("/admin/audit?from=yesterday"), "Dates must be written")

	r = a.Get("/admin/audit.csv?phone=%2B12015550123")
	expectStatus(t, r, http.StatusOK)
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Errorf("content type %q", r.Header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 5 || rows[0][0] != "id" {
		t.Fatalf("csv: %v", rows)
	}
	for _, row := range rows[1:] {
		if row[4] != "+12015550123" {
			t.Errorf("phone cell %q", row[4])
		}
		for _, cell := range row {
			if strings.HasPrefix(cell, "=") {
				t.Errorf("formula cell %q", cell)
			}
		}
	}
	// The log is append-only, even for the dashboard's own connection.
	if err := e.Server.DB().Write.Exec("DELETE FROM audit_log").Error; err == nil {
		t.Error("audit_log rows could be deleted")
	}
}

func TestMobileAPINeedsNoCSRF(t *testing.T) {
	e := webtest.New(t)
	e.AdminLogin("alice", "owner")
	// A plain form post to the API (no token, no cookie) still works.
	r := e.Form("/api.php", map[string]string{"op": "login", "appid": "a", "phone": webtest.USPhone})
	r.ExpectOK(t)
}

// syncData stands in for the contact-sync model (built in parallel) to show
// that the dashboard renders its data once it is wired in.
type syncData struct{ other int64 }

func (s syncData) Summaries(_ context.Context, ids []int64) (map[int64]models.SyncSummary, error) {
	at := webtest.Start.UnixMilli()
	out := map[int64]models.SyncSummary{}
	for _, id := range ids {
		out[id] = models.SyncSummary{Contacts: 1234, LastSyncAt: &at}
	}
	return out, nil
}

func (s syncData) UserSync(_ context.Context, id int64, _ int) (*models.UserSync, error) {
	at := webtest.Start.UnixMilli()
	return &models.UserSync{LastSyncAt: &at, NumbersStored: 4321,
		Matched:      []models.UserRef{{ID: s.other, Phone: "+33612345678", Name: "<b>Zoë</b>"}},
		HaveThisUser: nil,
		Recent:       []models.SyncRun{{At: at, Sent: 500, New: 20, Matched: 3, DurationMs: 42}}}, nil
}

func (s syncData) EventsAbout(context.Context, int64, int) ([]models.EventSent, error) {
	return []models.EventSent{{At: webtest.Start.UnixMilli(), Type: "joined", Recipients: 7}}, nil
}

func (s syncData) SyncsPerDay(_ context.Context, _ time.Time, days int) ([]int64, error) {
	out := make([]int64, days)
	out[days-1] = 9
	return out, nil
}

func TestContactSyncSectionsWhenWired(t *testing.T) {
	e := webtest.New(t, webtest.WithOptions(func(o *web.Options) { o.ContactSync = syncData{other: 2} }))
	uid, _ := signedInUser(t, e, webtest.USPhone, "a")
	a := e.AdminLogin("alice", "viewer")
	r := a.Get("/admin/users")
	expectIn(t, r, ">1,234<")
	if strings.Contains(body(r), "contact sync data not available") {
		t.Error("users list still says not available")
	}
	r = a.Get("/admin/users/" + uid)
	expectIn(t, r, ">4,321<", "+33612345678", "&lt;b&gt;Zoë&lt;/b&gt;", "42 ms", "Nobody has this number", "joined")
	if strings.Contains(body(r), `data-testid="sync-unavailable"`) || strings.Contains(body(r), `data-testid="events-unavailable"`) {
		t.Error("user page still says not available")
	}
	r = a.Get("/admin/")
	expectIn(t, r, `data-testid="stat-syncs"><span class="stat-value">9<`, "9 in total")
}

// Without JavaScript a successful action redirects (so a reload does not
// repeat it) and shows its notice once; htmx gets the answer in place.
func TestActionsRedirectWithoutJavaScript(t *testing.T) {
	e := webtest.New(t)
	uid, _ := signedInUser(t, e, webtest.USPhone, "a")
	a := e.AdminLogin("alice", "owner")
	e.Clock.Advance(time.Minute)
	r := a.PostForm("/admin/users/"+uid+"/resend", map[string]string{"_csrf": a.CSRF}, nil)
	expectStatus(t, r, http.StatusSeeOther)
	if r.Header.Get("Location") != "/admin/users/"+uid {
		t.Errorf("redirect to %q", r.Header.Get("Location"))
	}
	page := a.Get("/admin/users/" + uid)
	expectIn(t, page, `data-testid="notice"`, "sent via console")
	if strings.Contains(body(a.Get("/admin/users/"+uid)), `data-testid="notice"`) {
		t.Error("the notice was shown twice")
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_resend_code'"); n != 1 {
		t.Errorf("%d resends", n)
	}
	r = a.HTMX("/admin/users/"+uid+"/unblock", nil)
	expectStatus(t, r, http.StatusOK)
	expectIn(t, r, "User unblocked")
	// Errors answer at once, with or without JavaScript.
	r = a.PostForm("/admin/users/"+uid+"/block", map[string]string{"_csrf": a.CSRF, "password": "wrong"}, nil)
	expectStatus(t, r, http.StatusForbidden)
	expectIn(t, r, "Your password was wrong")
}

// The dashboard shows what contact sync really stored: the address book,
// matched users, who has this user, recent syncs and the notices sent.
func TestDashboardShowsContactSync(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn("12015550101", "a")
	e.Clock.Advance(time.Minute)
	bob := e.SignIn("12015550102", "b")
	e.GetContacts(t, alice, map[string]any{"phones": "+" + "12015550102" + ",+12015550177,(201) 555-0178"})
	e.GetContacts(t, bob, map[string]any{"phones": "+" + "12015550101"})
	e.Clock.Advance(time.Minute)
	e.SignIn("12015550105", "e") // joins: nobody has the number, but the notice is recorded
	var aliceID, bobID string
	e.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM users WHERE phone = ?", "+"+"12015550101").Scan(&aliceID)
	e.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM users WHERE phone = ?", "+"+"12015550102").Scan(&bobID)

	a := e.AdminLogin("alice", "viewer")
	list := a.Get("/admin/users")
	if strings.Contains(body(list), "contact sync data not available") {
		t.Error("users list says contact sync is not available")
	}
	page := a.Get("/admin/users/" + aliceID)
	// Three numbers stored, Bob matched (a link to his page), and Bob has Alice's number.
	expectIn(t, page, ">3<", `href="/admin/users/`+bobID+`"`, "+"+"12015550102", "joined")
	if strings.Contains(body(page), `data-testid="sync-unavailable"`) {
		t.Error("user page says contact sync is not available")
	}
	if n := strings.Count(body(page), `href="/admin/users/`+bobID+`"`); n < 2 {
		t.Errorf("Bob should appear as matched and as having Alice's number; %d links", n)
	}
	over := a.Get("/admin/")
	expectIn(t, over, `data-testid="stat-syncs"><span class="stat-value">2<`)
}
