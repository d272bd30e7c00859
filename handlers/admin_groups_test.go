package handlers_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"roster/web/webtest"
)

// dashboardGroup makes, through the app, the group 1 "Hikers" of alice
// (owner) with bob (admin) and carol, and alice's group 2 "Book club".
func dashboardGroup(t testing.TB, e *webtest.Env) {
	t.Helper()
	w := newGroupWorld(t, e)
	if w.gid != "1" {
		t.Fatalf("gid %s, want 1", w.gid)
	}
	e.JSON(map[string]any{"op": "setgroup", "token": w.alice, "name": "Book club"}).ExpectOK(t)
}

func groupExists(t testing.TB, e *webtest.Env, want bool) {
	t.Helper()
	n := e.Count("SELECT COUNT(*) FROM chat_groups WHERE id = 1 AND deleted_at IS NULL")
	if (n == 1) != want {
		t.Errorf("group 1 exists: %v, want %v", n == 1, want)
	}
}

func TestAdminGroups(t *testing.T) {
	people := webtest.WithArgs("--otp-ip-hourly", "0", "--otp-ip-daily", "0")
	webtest.Run(t, []webtest.Scenario{
		{Name: "a viewer lists the groups", SignedInAs: "viewer", URL: "/admin/groups", Options: []webtest.Option{people},
			Before: dashboardGroup, ExpectedTestIDs: map[string]int{"group-row": 2, "group-delete-form": 0},
			ExpectedContent: []string{"Hikers", "Book club", "+1 201-555-0101"}},
		{Name: "search by any part of the name, any case", SignedInAs: "viewer", URL: "/admin/groups?q=CLU", Options: []webtest.Option{people},
			Before: dashboardGroup, ExpectedTestIDs: map[string]int{"group-row": 1}, ExpectedTestIDText: map[string]string{"group-members": "1"},
			ExpectedContent: []string{"Book club"}, NotExpectedContent: []string{"Hikers"}},
		{Name: "sorted by name", SignedInAs: "viewer", URL: "/admin/groups?sort=name", Options: []webtest.Option{people},
			Before: dashboardGroup, ExpectedTestIDText: map[string]string{"group-link": "Book club", "group-members": "1"}},
		{Name: "the group page: members with roles", SignedInAs: "viewer", URL: "/admin/groups/1", Options: []webtest.Option{people},
			Before: dashboardGroup, ExpectedTestIDs: map[string]int{"member-row": 3, "group-delete-form": 0},
			ExpectedTestIDText: map[string]string{"group-name": "Hikers", "member-role": "owner"}},
		{Name: "a group that does not exist", SignedInAs: "viewer", URL: "/admin/groups/99", ExpectedStatus: http.StatusNotFound},
		{Name: "the user page lists the user's groups", SignedInAs: "viewer", URL: "/admin/users/2", Options: []webtest.Option{people},
			Before: dashboardGroup, ExpectedTestIDs: map[string]int{"user-groups-table": 1}, ExpectedContent: []string{"Hikers", "admin"}},
		{Name: "a viewer cannot delete a group", SignedInAs: "viewer", Method: http.MethodPost, URL: "/admin/groups/1/delete",
			Options: []webtest.Option{people}, Before: dashboardGroup, Form: map[string]string{"password": webtest.AdminPassword},
			ExpectedStatus: http.StatusForbidden, After: func(t testing.TB, e *webtest.Env, _ *webtest.Response) { groupExists(t, e, true) }},
		{Name: "a wrong password deletes nothing", SignedInAs: "operator", Method: http.MethodPost, URL: "/admin/groups/1/delete",
			Options: []webtest.Option{people}, Before: dashboardGroup, Form: map[string]string{"password": "wrong"},
			ExpectedStatus: http.StatusForbidden, After: func(t testing.TB, e *webtest.Env, _ *webtest.Response) { groupExists(t, e, true) }},
		{Name: "an operator deletes a group", SignedInAs: "operator", Method: http.MethodPost, URL: "/admin/groups/1/delete",
			Options: []webtest.Option{people}, Before: dashboardGroup, Form: map[string]string{"password": webtest.AdminPassword},
			ExpectedStatus: http.StatusSeeOther, After: func(t testing.TB, e *webtest.Env, _ *webtest.Response) {
				groupExists(t, e, false)
				if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE type = 'admin_delete_group' AND actor = 'admin:scenario-operator'
					AND phone = ? AND detail LIKE 'group 1 %'`, "+"+alicePhone); n != 1 {
					t.Error("the deletion is not audited")
				}
				if n := e.Count("SELECT COUNT(*) FROM group_departures WHERE group_id = 1"); n != 3 {
					t.Errorf("%d members told, want 3", n)
				}
			}},
	})
}

// The deleted group's page shows the deletion in its history; the members
// no longer find it.
func TestAdminGroupDeleteHistory(t *testing.T) {
	e := webtest.NewPeople(t)
	w := newGroupWorld(t, e)
	a := e.AdminLogin("op", "operator")
	page := a.Post("/admin/groups/"+w.gid+"/delete", map[string]string{"password": webtest.AdminPassword}) // follows the redirect
	if page.Status != http.StatusOK || !strings.Contains(string(page.Body), "admin_delete_group") ||
		!strings.Contains(string(page.Body), `data-testid="group-deleted"`) || !strings.Contains(string(page.Body), "Hikers deleted") {
		t.Fatalf("page %d %s", page.Status, page.Body)
	}
	e.JSON(map[string]any{"op": "getgroup", "token": w.bob, "gid": w.gid}).ExpectFail(t, "NOTMEMBER")
}

// Keyset pages: 51 groups are two pages, the second starting after the
// first's last row, with no row twice.
func TestAdminGroupsPages(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "a")
	for i := range 51 {
		e.JSON(map[string]any{"op": "setgroup", "token": alice, "name": fmt.Sprintf("g%02d", i)}).ExpectOK(t)
	}
	a := e.AdminLogin("v", "viewer")
	first := string(a.Get("/admin/groups?sort=name").Body)
	if strings.Count(first, `data-testid="group-row"`) != 50 || !strings.Contains(first, `data-testid="next-page"`) {
		t.Fatal("the first page is not 50 rows with a next page")
	}
	second := string(a.Get("/admin/groups?sort=name&after=50%3Ag49").Body)
	if strings.Count(second, `data-testid="group-row"`) != 1 || !strings.Contains(second, ">g50<") || strings.Contains(second, `data-testid="next-page"`) {
		t.Fatalf("the second page: %s", second)
	}
	// A sort the page does not know is named, not silently replaced.
	if got := a.Get("/admin/groups?sort=size").TestIDText(t, "notice-error"); got != "Ignored: sort=“size” (changed or name; sorted by last change)." {
		t.Errorf("unknown sort: notice %q", got)
	}
}

// An operator creates a group with an owner and members (one of them not
// a user), renames it, adds and removes a member: each audited, each a
// notice to the members, the owner the notices' actor.
func TestAdminGroupActions(t *testing.T) {
	e := webtest.NewPeople(t)
	alice, bob := e.SignIn(alicePhone, "a"), e.SignIn(bobPhone, "b")
	e.SignIn(carolPhone, "c")
	a := e.AdminLogin("op", "operator")
	page := a.Post("/admin/groups", map[string]string{"owner": "+1 201-555-0101", "name": "Team", "members": bobPhone + ",+" + erinPhone})
	if page.Status != http.StatusOK || !strings.Contains(string(page.Body), "Group Team created") {
		t.Fatalf("create: %d %s", page.Status, page.Body)
	}
	g := e.JSON(map[string]any{"op": "getgroup", "token": bob, "gid": 1})
	g.ExpectOK(t)
	if g.String("members") != "1:"+alicePhone+","+bobPhone || e.Count("SELECT COUNT(*) FROM group_invites") != 1 {
		t.Fatalf("created group %s", g.Body)
	}
	a.Post("/admin/groups/1/rename", map[string]string{"name": "Crew"})
	a.Post("/admin/groups/1/members", map[string]string{"m": carolPhone})
	a.Post("/admin/groups/1/members", map[string]string{"m": bobPhone, "remove": "1"})
	g = e.JSON(map[string]any{"op": "getgroup", "token": alice, "gid": 1})
	if g.String("name") != "Crew" || g.String("members") != "1:"+alicePhone+","+carolPhone {
		t.Fatalf("after the changes %s", g.Body)
	}
	for _, typ := range []string{"admin_create_group", "admin_rename_group", "admin_group_members"} {
		if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = ? AND actor = 'admin:op' AND phone = ? AND detail LIKE 'group 1 %'", typ, "+"+alicePhone); n == 0 {
			t.Errorf("no %s entry", typ)
		}
	}
	page = a.Get("/admin/groups/1")
	if strings.Count(string(page.Body), "admin_group_members") != 2 || !strings.Contains(string(page.Body), "admin_rename_group") {
		t.Errorf("the history lacks the changes")
	}
	// Refusals change nothing: the owner cannot be removed, a bad number
	// is named, an owner who is not a user makes no group.
	r := a.Post("/admin/groups/1/members", map[string]string{"m": alicePhone, "remove": "1"})
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "owner cannot be removed") {
		t.Errorf("removing the owner: %d", r.Status)
	}
	r = a.Post("/admin/groups/1/members", map[string]string{"m": "12,hello"})
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "12, hello") {
		t.Errorf("bad numbers: %d", r.Status)
	}
	r = a.Post("/admin/groups", map[string]string{"owner": "+" + davePhone, "name": "X"})
	if r.Status != http.StatusBadRequest || e.Count("SELECT COUNT(*) FROM chat_groups") != 1 {
		t.Errorf("an owner who is not a user: %d", r.Status)
	}
	e.FanOut()
	if got := deliveredTypes(t, e, carolPhone); got != "group_added,group" { // added, then bob removed
		t.Errorf("carol's notices %q", got)
	}
	// A viewer sees no form and cannot post.
	v := e.AdminLogin("view", "viewer")
	if strings.Contains(string(v.Get("/admin/groups/1").Body), "group-add-form") {
		t.Error("a viewer is shown the forms")
	}
	if r := v.Post("/admin/groups/1/rename", map[string]string{"name": "Mine"}); r.Status != http.StatusForbidden {
		t.Errorf("a viewer renamed: %d", r.Status)
	}
}

// An operator makes a member an admin and a member again: the app sees
// the admins first in members, each change is audited and told to the
// members; the owner's role and a non-member are refused with a message.
func TestAdminGroupRoles(t *testing.T) {
	e := webtest.NewPeople(t)
	alice, bob, carol := e.SignIn(alicePhone, "a"), e.SignIn(bobPhone, "b"), e.SignIn(carolPhone, "c")
	a := e.AdminLogin("op", "operator")
	a.Post("/admin/groups", map[string]string{"owner": "+" + alicePhone, "name": "Team", "members": bobPhone + "," + carolPhone})
	if page := a.Get("/admin/groups/1"); strings.Count(string(page.Body), `data-testid="group-make-admin"`) != 2 ||
		strings.Contains(string(page.Body), `data-testid="group-make-member"`) {
		t.Fatalf("role buttons: want make-admin for bob and carol only")
	}
	r := a.Post("/admin/groups/1/role", map[string]string{"m": "+" + carolPhone, "admin": "1"})
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), "Made an admin.") {
		t.Fatalf("make admin: %d %s", r.Status, r.Body)
	}
	g := e.JSON(map[string]any{"op": "getgroup", "token": bob, "gid": 1})
	if g.String("members") != "2:"+alicePhone+","+carolPhone+","+bobPhone {
		t.Fatalf("after make admin: %s", g.Body)
	}
	// The new admin may now edit the group in the app.
	e.JSON(map[string]any{"op": "setgroup", "token": carol, "gid": 1, "name": "Crew"}).ExpectOK(t)
	a.Post("/admin/groups/1/role", map[string]string{"m": "+" + carolPhone, "admin": "0"})
	g = e.JSON(map[string]any{"op": "getgroup", "token": alice, "gid": 1})
	if g.String("members") != "1:"+alicePhone+","+bobPhone+","+carolPhone {
		t.Fatalf("after make member: %s", g.Body)
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_group_roles' AND actor = 'admin:op' AND detail LIKE 'group 1 made %'"); n != 2 {
		t.Errorf("%d admin_group_roles entries, want 2", n)
	}
	e.FanOut()
	if got := deliveredTypes(t, e, bobPhone); got != "group_added,group,group,group" { // added; admin; rename; member
		t.Errorf("bob's notices %q", got)
	}
	for _, tc := range []struct {
		form map[string]string
		want string
	}{
		{map[string]string{"m": "+" + alicePhone, "admin": "0"}, "owner&#39;s role cannot be changed"},
		{map[string]string{"m": "+" + davePhone, "admin": "1"}, "not a member of this group"},
		{map[string]string{"m": "+" + bobPhone, "admin": "yes"}, "Choose admin or member"},
		{map[string]string{"m": bobPhone + "," + carolPhone, "admin": "1"}, "Name one member"},
	} {
		if r := a.Post("/admin/groups/1/role", tc.form); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), tc.want) {
			t.Errorf("%v: %d, want 400 with %q", tc.form, r.Status, tc.want)
		}
	}
	if n := e.Count("SELECT COUNT(*) FROM group_members WHERE role = 1"); n != 0 {
		t.Errorf("%d admins after the refusals, want 0", n)
	}
	if r := e.AdminLogin("view", "viewer").Post("/admin/groups/1/role", map[string]string{"m": "+" + bobPhone, "admin": "1"}); r.Status != http.StatusForbidden {
		t.Errorf("a viewer changed a role: %d", r.Status)
	}
}
