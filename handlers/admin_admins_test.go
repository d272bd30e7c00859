package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	"roster/web/webtest"
)

// Only owners reach the admin accounts pages; every change there needs the
// owner's password again and the CSRF token.
func TestAdminAccountsRefusals(t *testing.T) {
	create := map[string]string{"name": "mallory", "role": "owner", "password": webtest.AdminPassword}
	noAdmin := func(t testing.TB, e *webtest.Env, _ *webtest.Response) {
		if n := e.Count("SELECT COUNT(*) FROM admins WHERE name = 'mallory'"); n != 0 {
			t.Error("a refused request created an admin")
		}
	}
	webtest.Run(t, []webtest.Scenario{
		{Name: "a viewer cannot see the admins", SignedInAs: "viewer", URL: "/admin/admins", ExpectedStatus: http.StatusForbidden,
			ExpectedTestIDs: map[string]int{"admins-table": 0, "nav-admins": 0}},
		{Name: "an operator cannot see the admins", SignedInAs: "operator", URL: "/admin/admins", ExpectedStatus: http.StatusForbidden,
			ExpectedContent: []string{"Only owners manage admin accounts"}},
		{Name: "an owner sees the admins", SignedInAs: "owner", URL: "/admin/admins",
			ExpectedTestIDs: map[string]int{"admins-table": 1, "admin-row": 2, "create-admin-form": 1, "nav-admins": 1}},
		{Name: "a viewer cannot create an admin", SignedInAs: "viewer", Method: http.MethodPost, URL: "/admin/admins", Form: create,
			ExpectedStatus: http.StatusForbidden, After: noAdmin},
		{Name: "an operator cannot create an admin", SignedInAs: "operator", Method: http.MethodPost, URL: "/admin/admins", Form: create,
			ExpectedStatus: http.StatusForbidden, After: noAdmin},
		{Name: "an operator cannot change a role", SignedInAs: "operator", Method: http.MethodPost, URL: "/admin/admins/1/role",
			Form: map[string]string{"role": "viewer", "password": webtest.AdminPassword}, ExpectedStatus: http.StatusForbidden},
		{Name: "no CSRF token, no admin", SignedInAs: "owner", Method: http.MethodPost, URL: "/admin/admins",
			Form:           map[string]string{"name": "mallory", "role": "owner", "password": webtest.AdminPassword, "_csrf": ""},
			ExpectedStatus: http.StatusForbidden, After: noAdmin},
		{Name: "a wrong password, no admin", SignedInAs: "owner", Method: http.MethodPost, URL: "/admin/admins", HTMX: true,
			Form:           map[string]string{"name": "mallory", "role": "owner", "password": "not my password"},
			ExpectedStatus: http.StatusForbidden, ExpectedContent: []string{"Your password was wrong"}, After: noAdmin},
		{Name: "an owner creates an admin, the password shown once", SignedInAs: "owner", Method: http.MethodPost, URL: "/admin/admins", HTMX: true,
			Form:            map[string]string{"name": "mallory", "role": "operator", "password": webtest.AdminPassword},
			ExpectedTestIDs: map[string]int{"one-time-password": 1, "admin-row": 3},
			After: func(t testing.TB, e *webtest.Env, r *webtest.Response) {
				pw := r.TestIDText(t, "new-password")
				b := e.Browser()
				if got := b.Login("mallory", pw); got.Status != http.StatusSeeOther {
					t.Errorf("the new admin cannot sign in: %d", got.Status)
				}
				if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_created' AND actor = 'admin:scenario-owner'"); n != 1 {
					t.Error("creation not audited with the owner")
				}
				if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE detail LIKE ?", "%"+pw+"%"); n != 0 {
					t.Error("the password is in the audit log")
				}
			}},
		{Name: "a viewer can open their account page", SignedInAs: "viewer", URL: "/admin/account",
			ExpectedTestIDs: map[string]int{"password-form": 1}},
	})
}

// An owner changes roles, disables, enables, resets and ends sessions; the
// last owner cannot be demoted or disabled, nor can an owner act on themself.
func TestAdminAccountsChanges(t *testing.T) {
	e := webtest.New(t)
	owner := e.AdminLogin("olivia", "owner")
	bob := e.AdminLogin("bob", "operator")
	var oliviaID, bobID string
	e.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM admins WHERE name = 'olivia'").Scan(&oliviaID)
	e.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM admins WHERE name = 'bob'").Scan(&bobID)
	pw := map[string]string{"password": webtest.AdminPassword}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{"password": webtest.AdminPassword}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}

	r := owner.HTMX("/admin/admins/"+oliviaID+"/role", with(map[string]string{"role": "viewer", "_csrf": ""}))
	expectStatus(t, r, http.StatusConflict)
	expectIn(t, r, "You cannot do this to your own account")
	r = owner.HTMX("/admin/admins/"+bobID+"/role", with(map[string]string{"role": "viewer"}))
	expectStatus(t, r, http.StatusOK)
	expectIn(t, r, "Role changed to viewer")
	if n := e.Count("SELECT COUNT(*) FROM admins WHERE name = 'bob' AND role = 'viewer'"); n != 1 {
		t.Error("role not changed")
	}
	// Bob's sessions: listed; one ended by the owner.
	page := owner.Get("/admin/admins/" + bobID)
	if n := page.CountTestID(t, "admin-session-row"); n != 1 {
		t.Errorf("%d sessions of bob", n)
	}
	var bobSession string
	e.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM admin_sessions WHERE admin_id = ?", bobID).Scan(&bobSession)
	r = owner.Post("/admin/admins/"+bobID+"/sessions/"+bobSession+"/end", nil)
	expectIn(t, r, "Session ended")
	expectStatus(t, bob.Get("/admin/users"), http.StatusSeeOther)
	expectStatus(t, owner.Post("/admin/admins/"+bobID+"/sessions/"+bobSession+"/end", nil), http.StatusNotFound)

	// Disable ends every session and refuses sign-in; enable lets bob back.
	bob = e.Browser()
	bob.Login("bob", webtest.AdminPassword)
	expectStatus(t, bob.Get("/admin/users"), http.StatusOK)
	r = owner.Post("/admin/admins/"+bobID+"/disable", pw)
	expectIn(t, r, "Admin disabled")
	expectStatus(t, bob.Get("/admin/users"), http.StatusSeeOther)
	if got := e.Browser().Login("bob", webtest.AdminPassword); got.Status == http.StatusSeeOther {
		t.Error("a disabled admin signed in")
	}
	expectIn(t, owner.Post("/admin/admins/"+bobID+"/enable", pw), "Admin enabled")

	// Reset: a new password shown once, the old one no longer works.
	r = owner.Post("/admin/admins/"+bobID+"/reset", pw)
	newPW := r.TestIDText(t, "new-password")
	if len(newPW) < 12 {
		t.Fatalf("no new password shown: %q", newPW)
	}
	if got := e.Browser().Login("bob", webtest.AdminPassword); got.Status == http.StatusSeeOther {
		t.Error("the old password still works")
	}
	if got := e.Browser().Login("bob", newPW); got.Status != http.StatusSeeOther {
		t.Error("the new password does not work")
	}

	// Another owner changes olivia's role: her next page knows it.
	e.NewAdmin("carol", "owner")
	carol := e.Browser()
	carol.Login("carol", webtest.AdminPassword)
	carol.Get("/admin/")
	var carolID string
	e.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM admins WHERE name = 'carol'").Scan(&carolID)
	expectIn(t, carol.Post("/admin/admins/"+oliviaID+"/role", with(map[string]string{"role": "operator"})), "Role changed")
	expectStatus(t, owner.Get("/admin/admins"), http.StatusForbidden)
	expectIn(t, carol.Post("/admin/admins/"+carolID+"/disable", pw), "You cannot do this to your own account")
	for _, typ := range []string{"admin_role_changed", "admin_disabled", "admin_enabled", "admin_password_reset", "admin_session_ended"} {
		if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = ?", typ); n == 0 {
			t.Errorf("no %s in the audit log", typ)
		}
	}
}

// Any admin changes their own password with the old one; a wrong old one
// counts as a failed re-check; their other sessions end, this one stays.
func TestChangeOwnPassword(t *testing.T) {
	e := webtest.New(t)
	a := e.AdminLogin("vic", "viewer")
	other := e.Browser()
	other.Login("vic", webtest.AdminPassword)
	expectStatus(t, other.Get("/admin/"), http.StatusOK)
	const next = "a brand new long passphrase"
	r := a.HTMX("/admin/account/password", map[string]string{"password": "wrong password!", "new_password": next, "new_password2": next})
	expectStatus(t, r, http.StatusForbidden)
	expectIn(t, r, "Your current password was wrong")
	r = a.HTMX("/admin/account/password", map[string]string{"password": webtest.AdminPassword, "new_password": next, "new_password2": next + "x"})
	expectStatus(t, r, http.StatusBadRequest)
	r = a.HTMX("/admin/account/password", map[string]string{"password": webtest.AdminPassword, "new_password": "short", "new_password2": "short"})
	expectStatus(t, r, http.StatusBadRequest)
	r = a.HTMX("/admin/account/password", map[string]string{"password": webtest.AdminPassword, "new_password": next, "new_password2": next})
	expectStatus(t, r, http.StatusOK)
	expectIn(t, r, "Password changed")
	expectStatus(t, a.Get("/admin/"), http.StatusOK)
	expectStatus(t, other.Get("/admin/"), http.StatusSeeOther)
	if got := e.Browser().Login("vic", next); got.Status != http.StatusSeeOther {
		t.Error("the new password does not work")
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_password_changed' AND actor = 'admin:vic'"); n != 1 {
		t.Error("not audited")
	}
	// Without the CSRF token, nothing changes.
	req := a.PostForm("/admin/account/password", map[string]string{"password": next, "new_password": next + "2", "new_password2": next + "2"}, nil)
	expectStatus(t, req, http.StatusForbidden)
}

// A dashboard session's user agent is the browser's word: its bidi controls
// and invisible characters are marked, in the cell and in the tooltip.
func TestAdminSessionUserAgentShownVisibly(t *testing.T) {
	e := webtest.New(t)
	owner := e.AdminLogin("olivia", "owner")
	e.NewAdmin("bob", "operator")
	bob := e.Browser()
	bob.Get("/admin/login")
	bob.PostForm("/admin/login", map[string]string{"name": "bob", "password": webtest.AdminPassword},
		map[string]string{"User-Agent": "Firefox/140.0 \u202eexe.\u3164"})
	var bobID string
	e.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM admins WHERE name = 'bob'").Scan(&bobID)
	page := owner.Get("/admin/admins/" + bobID)
	const ua = "Firefox/140.0 [U+202E]exe.[U+3164]"
	if got := page.TestIDText(t, "admin-session-user-agent"); got != ua {
		t.Errorf("user agent shown as %q", got)
	}
	if got, _ := page.HTML(t).Find("td.ua").Attr("title"); got != ua {
		t.Errorf("user agent tooltip %q", got)
	}
	if strings.Contains(body(page), "\u202e") || strings.Contains(body(page), "\u3164") {
		t.Error("an invisible character is in the page")
	}
}

// The changes an owner makes to admin accounts carry the owner's network
// and browser, as their sign-in does; each admin's page, and their own
// account page, lists their latest actions.
func TestAdminChangesCarryClientAndAreListed(t *testing.T) {
	e := webtest.New(t)
	owner := e.AdminLogin("olivia", "owner")
	const ua = "OwnerBrowser/1.0"
	post := func(path string, form map[string]string) *webtest.Response {
		form["password"] = webtest.AdminPassword
		return owner.PostForm(path, form, map[string]string{"HX-Request": "true", "X-CSRF-Token": owner.CSRF, "User-Agent": ua})
	}
	expectStatus(t, post("/admin/admins", map[string]string{"name": "mallory", "role": "operator"}), http.StatusOK)
	var id string
	e.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM admins WHERE name = 'mallory'").Scan(&id)
	expectStatus(t, post("/admin/admins/"+id+"/role", map[string]string{"role": "viewer"}), http.StatusOK)
	expectStatus(t, post("/admin/admins/"+id+"/disable", map[string]string{}), http.StatusOK)
	expectStatus(t, post("/admin/admins/"+id+"/reset", map[string]string{}), http.StatusOK)
	var loginIP string
	e.Server.DB().Read.Raw("SELECT ip FROM audit_log WHERE type = 'admin_login' AND actor = 'admin:olivia'").Scan(&loginIP)
	if loginIP == "" {
		t.Fatal("the sign-in has no IP")
	}
	for _, typ := range []string{"admin_created", "admin_role_changed", "admin_disabled", "admin_password_reset"} {
		if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = ? AND actor = 'admin:olivia' AND ip = ? AND user_agent = ?", typ, loginIP, ua); n != 1 {
			t.Errorf("%s: %d entries with the owner's IP and browser", typ, n)
		}
	}
	page := owner.Get("/admin/account")
	if n := page.HTML(t).Find(webtest.TestIDSelector("recent-actions") + " " + webtest.TestIDSelector("audit-row")).Length(); n != 5 {
		t.Errorf("%d recent actions on the account page, want the sign-in and four changes", n)
	}
	if href, _ := page.TestID(t, "all-actions").Attr("href"); href != "/admin/audit?actor=admin%3Aolivia" {
		t.Errorf("all actions at %q", href)
	}
	expectTestIDs(t, owner.Get("/admin/admins/"+id), "audit-empty")
}

// An owner turns off the two-factor sign-in of an admin who lost their
// authenticator, after the owner's password: the admin's key and recovery
// codes go, their sessions end, the owner is the audit entry's actor and
// the admin is named; they sign in with the password alone. Operators and
// viewers cannot; an owner cannot do it to themself, nor to an admin
// without it; a wrong password changes nothing.
func TestOwnerRemovesAdminSecondFactor(t *testing.T) {
	const bobPath = "/admin/admins/3/2fa/remove" // 1: the first owner, 2: the scenario's admin, 3: bob
	var bob *webtest.AdminClient
	bobEnrolled := func(t testing.TB, e *webtest.Env) {
		bob = e.AdminLogin("bob", "operator")
		enrol(t, e, bob)
		if n := e.Count("SELECT COUNT(*) FROM admins WHERE id = 3 AND name = 'bob'"); n != 1 {
			t.Fatal("bob is not admin 3")
		}
	}
	stillOn := func(t testing.TB, e *webtest.Env, _ *webtest.Response) {
		if n := e.Count("SELECT COUNT(*) FROM admins WHERE name = 'bob' AND totp_secret IS NOT NULL"); n != 1 {
			t.Error("a refused request turned bob's two-factor sign-in off")
		}
		if n := e.Count("SELECT COUNT(*) FROM admin_recovery_codes"); n != 10 {
			t.Errorf("%d recovery codes left, want 10", n)
		}
		if n := e.Count("SELECT COUNT(*) FROM admin_sessions WHERE admin_id = 3 AND revoked_at IS NULL"); n != 1 {
			t.Errorf("bob has %d live sessions, want 1", n)
		}
		if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_2fa_disabled'"); n != 0 {
			t.Error("a refused request was audited as done")
		}
	}
	pw := map[string]string{"password": webtest.AdminPassword}
	webtest.Run(t, []webtest.Scenario{
		{Name: "the owner sees the form for an admin with two-factor", SignedInAs: "owner", URL: "/admin/admins", Before: bobEnrolled,
			ExpectedTestIDs: map[string]int{"admin-two-factor": 1, "remove-2fa-form": 1}},
		{Name: "no form for admins without it", SignedInAs: "owner", URL: "/admin/admins",
			Before:          func(t testing.TB, e *webtest.Env) { e.NewAdmin("bob", "operator") },
			ExpectedTestIDs: map[string]int{"admin-row": 3, "remove-2fa-form": 0}},
		{Name: "an operator is refused", SignedInAs: "operator", Method: http.MethodPost, URL: bobPath, Form: pw, Before: bobEnrolled,
			ExpectedStatus: http.StatusForbidden, ExpectedContent: []string{"Only owners manage admin accounts"}, After: stillOn},
		{Name: "a viewer is refused", SignedInAs: "viewer", Method: http.MethodPost, URL: bobPath, Form: pw, Before: bobEnrolled,
			ExpectedStatus: http.StatusForbidden, After: stillOn},
		{Name: "no CSRF token", SignedInAs: "owner", Method: http.MethodPost, URL: bobPath, Before: bobEnrolled,
			Form: map[string]string{"password": webtest.AdminPassword, "_csrf": ""}, ExpectedStatus: http.StatusForbidden, After: stillOn},
		{Name: "a wrong password", SignedInAs: "owner", Method: http.MethodPost, URL: bobPath, HTMX: true, Before: bobEnrolled,
			Form: map[string]string{"password": "not my password"}, ExpectedStatus: http.StatusForbidden,
			ExpectedContent: []string{"Your password was wrong: nothing was changed."}, After: stillOn},
		{Name: "not on the owner's own account", SignedInAs: "owner", Method: http.MethodPost, URL: "/admin/admins/2/2fa/remove", HTMX: true, Form: pw,
			ExpectedStatus: http.StatusConflict, ExpectedContent: []string{"You cannot do this to your own account: nothing was changed."}},
		{Name: "an admin without it", SignedInAs: "owner", Method: http.MethodPost, URL: bobPath, HTMX: true, Form: pw,
			Before:         func(t testing.TB, e *webtest.Env) { e.NewAdmin("bob", "operator") },
			ExpectedStatus: http.StatusConflict, ExpectedContent: []string{"This admin has no two-factor sign-in: nothing was changed."},
			After: func(t testing.TB, e *webtest.Env, _ *webtest.Response) {
				if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_2fa_disabled'"); n != 0 {
					t.Error("audited as done")
				}
			}},
		{Name: "no such admin", SignedInAs: "owner", Method: http.MethodPost, URL: "/admin/admins/99/2fa/remove", HTMX: true, Form: pw,
			ExpectedStatus: http.StatusNotFound, ExpectedContent: []string{"There is no such admin."}},
		{Name: "the owner turns it off", SignedInAs: "owner", Method: http.MethodPost, URL: bobPath, HTMX: true, Form: pw, Before: bobEnrolled,
			ExpectedContent: []string{"Two-factor sign-in turned off: the admin was signed out everywhere"},
			ExpectedTestIDs: map[string]int{"admin-two-factor": 0, "remove-2fa-form": 0},
			After: func(t testing.TB, e *webtest.Env, _ *webtest.Response) {
				if n := e.Count("SELECT COUNT(*) FROM admins WHERE name = 'bob' AND totp_secret IS NULL AND totp_pending IS NULL"); n != 1 {
					t.Error("bob's key is still there")
				}
				if n := e.Count("SELECT COUNT(*) FROM admin_recovery_codes"); n != 0 {
					t.Errorf("%d recovery codes left", n)
				}
				if n := e.Count("SELECT COUNT(*) FROM admin_sessions WHERE admin_id = 3 AND revoked_at IS NULL"); n != 0 {
					t.Errorf("bob has %d live sessions", n)
				}
				if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE type = 'admin_2fa_disabled' AND actor = 'admin:scenario-owner'
					AND detail = 'admin "bob": two-factor sign-in turned off by an owner; 1 session ended'`); n != 1 {
					t.Error("not audited with the owner as actor and bob named")
				}
				if r := bob.Get("/admin/"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/admin/login") {
					t.Errorf("bob's old session still opens the dashboard: %d %s", r.Status, r.Header.Get("Location"))
				}
				if r := e.Browser().Login("bob", webtest.AdminPassword); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/admin/" {
					t.Errorf("bob's password alone does not sign him in: %d %s", r.Status, r.Header.Get("Location"))
				}
			}},
	})
}

// An owner with two-factor sign-in may give a code from their own app in
// place of the password, as every re-check accepts.
func TestOwnerRemovesAdminSecondFactorWithOwnCode(t *testing.T) {
	e := webtest.New(t)
	owner := e.AdminLogin("olivia", "owner")
	ownerSecret, _ := enrol(t, e, owner)
	bob := e.AdminLogin("bob", "operator")
	enrol(t, e, bob)
	var bobID string
	e.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM admins WHERE name = 'bob'").Scan(&bobID)
	r := owner.HTMX("/admin/admins/"+bobID+"/2fa/remove", map[string]string{"password": totpCode(t, e, ownerSecret)})
	expectStatus(t, r, http.StatusOK)
	expectIn(t, r, "Two-factor sign-in turned off")
	if n := e.Count("SELECT COUNT(*) FROM admins WHERE name = 'bob' AND totp_secret IS NULL"); n != 1 {
		t.Error("bob's key is still there")
	}
	if n := e.Count("SELECT COUNT(*) FROM admins WHERE name = 'olivia' AND totp_secret IS NOT NULL"); n != 1 {
		t.Error("the owner's own key went")
	}
}
