package handlers_test

import (
	"net/http"
	"testing"
	"time"

	"roster/web/webtest"
)

// An administrator clears an abusive name and status without deleting the
// account: the user's contacts get the profile notice and see it cleared.
func TestModerateClearsProfile(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "a")
	e.SetProfile(t, alice, map[string]any{"name": "Abusive name", "status": "abusive status"})
	bob := e.SignIn(bobPhone, "b")
	e.GetContacts(t, bob, map[string]any{"phones": "+" + alicePhone})
	var aliceID string
	e.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM users WHERE phone = ?", "+"+alicePhone).Scan(&aliceID)
	path := "/admin/users/" + aliceID + "/moderate"
	unchanged := func(t testing.TB, e *webtest.Env, _ *webtest.Response) {
		if n := e.Count("SELECT COUNT(*) FROM users WHERE name = 'Abusive name'"); n != 1 {
			t.Error("a refused moderation changed the name")
		}
	}
	clear := map[string]string{"name": "1", "status": "1", "password": webtest.AdminPassword}
	webtest.Run(t, []webtest.Scenario{
		{Name: "a viewer is refused", SignedInAs: "viewer", Method: http.MethodPost, URL: path, Form: clear,
			ExpectedStatus: http.StatusForbidden, Before: seedAbuser, After: unchanged},
		{Name: "no CSRF token", SignedInAs: "operator", Method: http.MethodPost, URL: path,
			Form: map[string]string{"name": "1", "password": webtest.AdminPassword, "_csrf": ""}, Before: seedAbuser,
			ExpectedStatus: http.StatusForbidden, After: unchanged},
		{Name: "a wrong password", SignedInAs: "operator", Method: http.MethodPost, URL: path, HTMX: true,
			Form: map[string]string{"name": "1", "password": "wrong password"}, Before: seedAbuser,
			ExpectedStatus: http.StatusForbidden, ExpectedContent: []string{"Your password was wrong"}, After: unchanged},
		{Name: "nothing chosen", SignedInAs: "operator", Method: http.MethodPost, URL: path, HTMX: true,
			Form: map[string]string{"password": webtest.AdminPassword}, Before: seedAbuser,
			ExpectedStatus: http.StatusBadRequest, After: unchanged},
	})

	a := e.AdminLogin("olga", "operator")
	e.Clock.Advance(time.Minute)
	r := a.HTMX(path, clear)
	expectStatus(t, r, http.StatusOK)
	expectIn(t, r, "Cleared the name, status")
	if got := r.TestIDText(t, "profile-name"); got != "" {
		t.Errorf("name still shown: %q", got)
	}
	if n := e.Count("SELECT COUNT(*) FROM events WHERE user_id = ? AND type = 'profile'", aliceID); n < 2 {
		t.Errorf("%d profile notices about alice, want the user's own and the moderation's", n)
	}
	got := e.GetContacts(t, bob, map[string]any{"phones": "+" + alicePhone})
	if len(got.Contacts) != 1 || got.Contacts[0].Name != "" {
		t.Errorf("bob sees %+v", got.Contacts)
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_moderate' AND actor = 'admin:olga' AND detail = 'cleared name, status'"); n != 1 {
		t.Error("moderation not audited")
	}
}

// seedAbuser makes user 1 with an abusive name (scenarios run on fresh servers).
func seedAbuser(t testing.TB, e *webtest.Env) {
	tok := e.SignIn(alicePhone, "a")
	e.SetProfile(t, tok, map[string]any{"name": "Abusive name"})
}
