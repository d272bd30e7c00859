package handlers_test

import (
	"net/http"
	"strings"
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

// An administrator sets a user's name and status: the contacts get the
// profile notice and see the new ones; a text too long changes nothing.
func TestEditProfile(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "a")
	e.SetProfile(t, alice, map[string]any{"name": "Alice", "status": "old status"})
	bob := e.SignIn(bobPhone, "b")
	e.GetContacts(t, bob, map[string]any{"phones": "+" + alicePhone})
	var aliceID string
	e.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM users WHERE phone = ?", "+"+alicePhone).Scan(&aliceID)
	path := "/admin/users/" + aliceID + "/profile"
	a := e.AdminLogin("olga", "operator")
	r := a.HTMX(path, map[string]string{"name": strings.Repeat("x", 65), "status": "s"})
	expectStatus(t, r, http.StatusBadRequest)
	expectIn(t, r, "The name is longer than 64 characters: nothing was changed.")
	if n := e.Count("SELECT COUNT(*) FROM users WHERE name = 'Alice' AND status = 'old status'"); n != 1 {
		t.Fatal("a refused edit changed the profile")
	}
	webtest.Run(t, []webtest.Scenario{
		{Name: "a viewer is refused", SignedInAs: "viewer", Method: http.MethodPost, URL: path,
			Form: map[string]string{"name": "Viewer was here"}, ExpectedStatus: http.StatusForbidden},
	})
	e.Clock.Advance(time.Minute)
	r = a.HTMX(path, map[string]string{"name": "  Alice Martin ", "status": "new status"})
	expectStatus(t, r, http.StatusOK)
	if got := r.HTML(t).Find(`[data-testid="moderation"] [data-testid="notice"]`).Text(); !strings.Contains(got, "Saved the name and status") {
		t.Errorf("notice %q", got)
	}
	if v, _ := r.TestID(t, "edit-name").Attr("value"); v != "Alice Martin" {
		t.Errorf("the form shows the name %q", v)
	}
	got := e.GetContacts(t, bob, map[string]any{"phones": "+" + alicePhone})
	if len(got.Contacts) != 1 || got.Contacts[0].Name != "Alice Martin" {
		t.Errorf("bob sees %+v", got.Contacts)
	}
	if n := e.Count("SELECT COUNT(*) FROM events WHERE user_id = ? AND type = 'profile'", aliceID); n < 2 {
		t.Errorf("%d profile notices about alice, want the user's own and the edit's", n)
	}
	if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE type = 'admin_edit_profile' AND actor = 'admin:olga' AND detail = 'set name "Alice Martin", status "new status"'`); n != 1 {
		t.Error("the edit is not audited")
	}
}
