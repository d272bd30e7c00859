package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/web/webtest"
)

func TestRevokeBlockUnblockDelete(t *testing.T) {
	e := webtest.New(t)
	uid, tokA := e.SignedInUser(webtest.USPhone, "phone-a")
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
	expectIn(t, r, "User blocked; 1 session revoked", "until the end of 2026-03-10 (UTC)")
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
	uid, tokA := e.SignedInUser(webtest.USPhone, "a")
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
	_, other := e.SignedInUser(webtest.FRPhone, "c")
	var otherSID string
	e.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM sessions WHERE device = 'c'").Scan(&otherSID)
	r = a.Post("/admin/users/"+uid+"/sessions/"+otherSID+"/revoke", nil)
	expectStatus(t, r, http.StatusNotFound)
	expectIn(t, r, "does not belong")
	e.SetNotify(other).ExpectOK(t)
	expectStatus(t, a.Get("/admin/users/abc"), http.StatusNotFound)
}

func TestPasswordRecheck(t *testing.T) {
	e := webtest.New(t)
	uid, tok := e.SignedInUser(webtest.USPhone, "phone-a")
	a := e.AdminLogin("alice", "operator")
	// Each wrong password is refused; the models.MaxRechecks-th (3) ends
	// the session, so a stolen session cannot guess the password.
	for i, p := range []string{"/revoke-all", "/block", "/delete"} {
		r := a.Post("/admin/users/"+uid+p, map[string]string{"password": "not my password", "confirm": "+" + webtest.USPhone})
		if i < 2 {
			expectStatus(t, r, http.StatusForbidden)
			expectIn(t, r, "Your password was wrong")
			continue
		}
		if r.CountTestID(t, "login-form") != 1 { // Post follows the redirect
			t.Errorf("after the last wrong password: %d %.500s", r.Status, r.Body)
		} else if got := r.TestIDText(t, "login-info"); !strings.Contains(got, "an action asked for your password again and it was wrong 3 times") {
			t.Errorf("the sign-in page says %q", got)
		}
	}
	expectStatus(t, a.Get("/admin/users"), http.StatusSeeOther) // the session is over
	e.SetNotify(tok).ExpectOK(t)
	if n := e.Count("SELECT COUNT(*) FROM users"); n != 1 {
		t.Error("user deleted despite a wrong password")
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_password_recheck_failed'"); n != 3 {
		t.Errorf("%d failed re-checks audited", n)
	}
	// Signed in again, the count starts over; a right password clears it.
	expectStatus(t, a.Login("alice", webtest.AdminPassword), http.StatusSeeOther)
	a.Get("/admin/")
	for range 2 {
		expectStatus(t, a.Post("/admin/users/"+uid+"/block", map[string]string{"password": "not my password"}), http.StatusForbidden)
	}
	// A wrong typed confirmation deletes nothing either (it is checked
	// before the password).
	r := a.Post("/admin/users/"+uid+"/delete", map[string]string{"password": webtest.AdminPassword, "confirm": "+1999"})
	expectStatus(t, r, http.StatusBadRequest)
	expectIn(t, r, "does not match")
	r = a.Post("/admin/users/"+uid+"/revoke-all", map[string]string{"password": webtest.AdminPassword})
	expectStatus(t, r, http.StatusOK)
	expectIn(t, r, "1 session revoked")
	expectStatus(t, a.Post("/admin/users/"+uid+"/block", map[string]string{"password": "not my password"}), http.StatusForbidden)
	expectStatus(t, a.Get("/admin/users"), http.StatusOK) // 2 + 1 failures, with a right password between
}

// Wrong passwords sent in parallel are counted before bcrypt runs: at most
// models.MaxRechecks of them are compared, and the session ends.
func TestPasswordRecheckInParallel(t *testing.T) {
	e := webtest.New(t)
	uid, tok := e.SignedInUser(webtest.USPhone, "phone-a")
	a := e.AdminLogin("alice", "owner")
	csrf := a.CSRF // read before the requests, which set it
	var wg sync.WaitGroup
	statuses := make([]int, 20)
	for i := range statuses {
		wg.Go(func() {
			req := httptest.NewRequest(http.MethodPost, "/admin/users/"+uid+"/revoke-all",
				strings.NewReader(url.Values{"password": {"guess-" + strconv.Itoa(i)}, "_csrf": {csrf}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			statuses[i] = a.Do(req).Status
		})
	}
	wg.Wait()
	wrong := 0
	for _, s := range statuses {
		if s == http.StatusForbidden {
			wrong++
		}
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_password_recheck_failed'"); n != 3 || wrong != 2 {
		t.Errorf("%d passwords compared, %d answered 'wrong' (want 3 and 2); statuses %v", n, wrong, statuses)
	}
	expectStatus(t, a.Get("/admin/users"), http.StatusSeeOther)
	e.SetNotify(tok).ExpectOK(t)
}

// Without JavaScript a successful action redirects (so a reload does not
// repeat it) and shows its notice once; htmx gets the answer in place.
func TestActionsRedirectWithoutJavaScript(t *testing.T) {
	e := webtest.New(t)
	uid, _ := e.SignedInUser(webtest.USPhone, "a")
	a := e.AdminLogin("alice", "owner")
	e.Clock.Advance(time.Minute)
	r := a.PostForm("/admin/users/"+uid+"/resend", map[string]string{"_csrf": a.CSRF}, nil)
	expectStatus(t, r, http.StatusSeeOther)
	if r.Header.Get("Location") != "/admin/users/"+uid {
		t.Errorf("redirect to %q", r.Header.Get("Location"))
	}
	page := a.Get("/admin/users/" + uid)
	expectIn(t, page, "sent via console")
	expectTestIDs(t, page, "notice")
	if a.Get("/admin/users/"+uid).CountTestID(t, "notice") != 0 {
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

// From htmx, the wrong password that ends the session sends the browser to
// the sign-in form, which says why.
func TestPasswordRecheckSignOutFromHTMX(t *testing.T) {
	e := webtest.New(t)
	uid, _ := e.SignedInUser(webtest.USPhone, "phone-a")
	a := e.AdminLogin("alice", "operator")
	var r *webtest.Response
	for range 3 {
		r = a.HTMX("/admin/users/"+uid+"/block", map[string]string{"password": "not my password"})
	}
	expectStatus(t, r, http.StatusUnauthorized)
	if got := r.Header.Get("HX-Redirect"); got != "/admin/login?ended=recheck" {
		t.Fatalf("HX-Redirect = %q", got)
	}
	expectIn(t, a.Get("/admin/login?ended=recheck"), "You were signed out: an action asked for your password again and it was wrong 3 times")
}

// The delete confirmation takes the number as the page shows it, or in any
// format that is this user's number; another number deletes nothing.
func TestDeleteConfirmationAsShown(t *testing.T) {
	e := webtest.New(t)
	a := e.AdminLogin("alice", "owner")
	for _, typed := range []string{"shown", "(201) 555-0123", "+12015550123"} {
		e.Clock.Advance(time.Minute) // past the resend cooldown
		uid, _ := e.SignedInUser(webtest.USPhone, "a")
		page := a.Get("/admin/users/" + uid)
		shown := strings.TrimSpace(page.HTML(t).Find(`[data-testid="delete-form"] code`).Text())
		if typed == "shown" {
			if shown != "+1 201-555-0123" {
				t.Fatalf("the confirmation shows %q", shown)
			}
			typed = shown
		}
		r := a.Post("/admin/users/"+uid+"/delete", map[string]string{"password": webtest.AdminPassword, "confirm": typed})
		expectStatus(t, r, http.StatusOK)
		if n := e.Count("SELECT COUNT(*) FROM users"); n != 0 {
			t.Fatalf("confirm %q: the user is still there", typed)
		}
	}
	e.Clock.Advance(time.Minute)
	uid, _ := e.SignedInUser(webtest.USPhone, "a")
	for _, typed := range []string{"+1 201-555-0124", "201555", "not a number"} {
		r := a.Post("/admin/users/"+uid+"/delete", map[string]string{"password": webtest.AdminPassword, "confirm": typed})
		expectStatus(t, r, http.StatusBadRequest)
		expectIn(t, r, "does not match")
	}
	if n := e.Count("SELECT COUNT(*) FROM users"); n != 1 {
		t.Error("a wrong confirmation deleted the user")
	}
}

// An action's result is shown in the section of the page its form is in,
// focused, not at the top of a long page.
func TestUserActionResultWhereTheActionWas(t *testing.T) {
	e := webtest.New(t)
	uid, _ := e.SignedInUser(webtest.USPhone, "a")
	a := e.AdminLogin("alice", "owner")
	sid := strconv.FormatInt(e.Count("SELECT id FROM sessions"), 10)
	e.Clock.Advance(time.Minute)
	for _, c := range []struct {
		path, section, testID string
		form                  map[string]string
	}{
		{"/block", "moderation", "notice-error", map[string]string{"password": "not my password"}},
		{"/moderate", "moderation", "notice-error", map[string]string{"password": webtest.AdminPassword}}, // nothing chosen
		{"/delete", "moderation", "notice-error", map[string]string{"password": webtest.AdminPassword, "confirm": "+1999"}},
		{"/resend", "codes", "notice", nil},
		{"/sessions/" + sid + "/revoke", "sessions", "notice", nil},
		{"/sessions/" + sid + "/revoke", "sessions", "notice-error", nil}, // already ended
		{"/block", "moderation", "notice", map[string]string{"password": webtest.AdminPassword}},
		{"/unblock", "moderation", "notice", nil},
	} {
		r := a.HTMX("/admin/users/"+uid+c.path, c.form)
		notice := r.HTML(t).Find(`[data-testid="` + c.section + `"] [data-testid="` + c.testID + `"]`)
		if notice.Length() != 1 {
			t.Errorf("%s: no %s in the %s section (%d); body %.1500s", c.path, c.testID, c.section, r.Status, r.Body)
			continue
		}
		if _, focused := notice.Attr("autofocus"); !focused {
			t.Errorf("%s: the notice is not focused", c.path)
		}
		if n := r.HTML(t).Find(`#content > .notice`).Length(); n != 0 {
			t.Errorf("%s: the notice is at the top too", c.path)
		}
	}
}
