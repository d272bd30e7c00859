package handlers_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"roster/web/webtest"
)

// An account an administrator creates exists at once (the list, its page)
// but no address book finds it and nobody is told it joined until its
// owner signs in with a code: that sign-in is its join, announced once.
func TestCreateUserJoinsAtFirstSignIn(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "a")
	a := e.AdminLogin("olga", "operator")
	r := a.Post("/admin/users", map[string]string{"phone": "(201) 555-0102", "name": "Bob Admin", "password": webtest.AdminPassword})
	expectStatus(t, r, http.StatusOK)
	expectIn(t, r, "Created the account of +12015550102.")
	if got := r.TestIDText(t, "created-by"); got != "an administrator (admin:olga)" {
		t.Errorf("created by %q", got)
	}
	if r.CountTestID(t, "awaiting-sign-in") != 1 || r.TestIDText(t, "state") != "awaiting-sign-in" {
		t.Errorf("the page does not say the account awaits its owner: %.3000s", r.Body)
	}
	var uid string
	e.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM users WHERE phone = '+12015550102'").Scan(&uid)
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_create_user' AND actor = 'admin:olga' AND phone = '+12015550102' AND user_id = ?", uid); n != 1 {
		t.Errorf("%d creations audited", n)
	}
	list := a.Get("/admin/users?q=%2B12015550102")
	if list.TestIDText(t, "user-name") != "Bob Admin" || list.TestIDText(t, "state") != "awaiting-sign-in" {
		t.Errorf("the list shows %q %q", list.TestIDText(t, "user-name"), list.TestIDText(t, "state"))
	}
	if csv := string(a.Get("/admin/users.csv?q=%2B12015550102").Body); !strings.Contains(csv, ",Bob Admin,,awaiting-sign-in,") {
		t.Errorf("the export does not say the account awaits its owner: %s", csv)
	}
	// A start-up's hash backfill leaves it hidden.
	if _, err := e.Server.Contacts().BackfillHashes(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := e.GetContacts(t, alice, map[string]any{"phones": "+" + bobPhone}); len(got.Contacts) != 0 {
		t.Errorf("a created account was matched before its owner signed in: %+v", got.Contacts)
	}
	if got := e.GetContacts(t, alice, map[string]any{"ts": 0}); len(got.Contacts) != 0 {
		t.Errorf("an incremental sync found a created account before its owner signed in: %+v", got.Contacts)
	}
	joined := "SELECT COUNT(*) FROM events WHERE type = 'joined' AND user_id = " + uid
	if n := e.Count(joined); n != 0 {
		t.Errorf("%d join notices before the first sign-in", n)
	}

	e.Clock.Advance(time.Minute)
	e.SignIn(bobPhone, "b1")
	if n := e.Count("SELECT COUNT(*) FROM users WHERE phone = '+12015550102' AND name = 'Bob Admin' AND CAST(id AS TEXT) = ?", uid); n != 1 {
		t.Error("the first sign-in did not sign in to the created account, named as the administrator named it")
	}
	if got := e.GetContacts(t, alice, map[string]any{"ts": 0}); phonesOf(got.Contacts) != bobPhone {
		t.Errorf("after the owner's sign-in, Alice's sync finds %+v", got.Contacts)
	}
	if got := e.GetContacts(t, alice, map[string]any{"phones": "+" + bobPhone}); phonesOf(got.Contacts) != bobPhone {
		t.Errorf("after the owner's sign-in, an upload finds %+v", got.Contacts)
	}
	e.Clock.Advance(time.Minute)
	e.SignIn(bobPhone, "b2") // signing in again is not joining
	if n := e.Count(joined); n != 1 {
		t.Errorf("%d join notices, want 1", n)
	}
	page := a.Get("/admin/users/" + uid)
	if page.CountTestID(t, "awaiting-sign-in") != 0 || page.TestIDText(t, "state") != "active" || page.TestIDText(t, "created-by") != "an administrator (admin:olga)" {
		t.Errorf("after the sign-in the page shows state %q: %.2000s", page.TestIDText(t, "state"), page.Body)
	}
}

// A number invited to a group while its account awaits its owner is a
// member once the owner signs in, as anyone invited before signing up.
func TestCreatedUserJoinsGroupsAtFirstSignIn(t *testing.T) {
	e := webtest.NewPeople(t)
	e.SignIn(alicePhone, "a")
	a := e.AdminLogin("olga", "operator")
	a.Post("/admin/users", map[string]string{"phone": "+" + bobPhone, "name": "Bob", "password": webtest.AdminPassword})
	r := a.Post("/admin/groups", map[string]string{"owner": "+" + alicePhone, "name": "Team", "members": "+" + bobPhone})
	expectStatus(t, r, http.StatusOK)
	bob := "(SELECT id FROM users WHERE phone = '+" + bobPhone + "')"
	if n := e.Count("SELECT COUNT(*) FROM group_members WHERE user_id = " + bob); n != 0 {
		t.Errorf("an account awaiting its owner was made a member (%d)", n)
	}
	if n := e.Count("SELECT COUNT(*) FROM group_invites"); n != 1 {
		t.Errorf("%d invites, want 1", n)
	}
	e.SignIn(bobPhone, "b")
	if n := e.Count("SELECT COUNT(*) FROM group_members WHERE user_id = " + bob); n != 1 {
		t.Errorf("after the first sign-in Bob is in %d groups, want 1", n)
	}
}

// What creating a user refuses: viewers, a wrong password, no number, a
// name too long, a number that has an account (named, with a link).
func TestCreateUserRefusals(t *testing.T) {
	form := func(phone, name, password string) map[string]string {
		return map[string]string{"phone": phone, "name": name, "password": password}
	}
	noneCreated := func(t testing.TB, e *webtest.Env, _ *webtest.Response) {
		if n := e.Count("SELECT COUNT(*) FROM users WHERE phone = '+12015550102'"); n != 0 {
			t.Errorf("%d users created", n)
		}
		if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_create_user'"); n != 0 {
			t.Errorf("%d creations audited", n)
		}
	}
	webtest.Run(t, []webtest.Scenario{
		{Name: "a viewer is refused", SignedInAs: "viewer", Method: http.MethodPost, URL: "/admin/users",
			Form: form("+12015550102", "Bob", webtest.AdminPassword), ExpectedStatus: http.StatusForbidden, After: noneCreated},
		{Name: "a viewer is not offered the form", SignedInAs: "viewer", URL: "/admin/users",
			ExpectedTestIDs: map[string]int{"create-user-form": 0}},
		{Name: "an operator is offered the form", SignedInAs: "operator", URL: "/admin/users",
			ExpectedTestIDs: map[string]int{"create-user-form": 1}},
		{Name: "a wrong password", SignedInAs: "operator", Method: http.MethodPost, URL: "/admin/users",
			Form: form("+12015550102", "Bob", "wrong"), ExpectedStatus: http.StatusForbidden,
			ExpectedTestIDText: map[string]string{"notice-error": "Your password was wrong: nothing was changed."}, After: noneCreated},
		{Name: "not a number", SignedInAs: "owner", Method: http.MethodPost, URL: "/admin/users",
			Form: form("twelve", "Bob", webtest.AdminPassword), ExpectedStatus: http.StatusBadRequest,
			ExpectedContent: []string{"Not a phone number", "Nothing was created."}, After: noneCreated},
		{Name: "a name too long", SignedInAs: "owner", Method: http.MethodPost, URL: "/admin/users",
			Form: form("+12015550102", strings.Repeat("n", 65), webtest.AdminPassword), ExpectedStatus: http.StatusBadRequest,
			ExpectedContent: []string{"The name is longer than 64 characters: nothing was created."}, After: noneCreated},
		{Name: "a number that has an account", SignedInAs: "owner", Method: http.MethodPost, URL: "/admin/users",
			Before: func(t testing.TB, e *webtest.Env) { e.SignIn(bobPhone, "b") },
			Form:   form("201-555-0102", "Bob", webtest.AdminPassword), ExpectedStatus: http.StatusConflict,
			ExpectedTestIDText: map[string]string{"notice-error": "+12015550102 already has an account: nothing was created."},
			ExpectedTestIDs:    map[string]int{"existing-user-link": 1},
			After: func(t testing.TB, e *webtest.Env, r *webtest.Response) {
				href, _ := r.TestID(t, "existing-user-link").Attr("href")
				var id string
				e.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM users WHERE phone = '+12015550102'").Scan(&id)
				if href != "/admin/users/"+id {
					t.Errorf("the link goes to %q, want the user %s", href, id)
				}
				if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_create_user'"); n != 0 {
					t.Errorf("%d creations audited", n)
				}
			}},
	})
}
