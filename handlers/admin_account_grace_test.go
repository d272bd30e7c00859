package handlers_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"roster/web/webtest"
)

// The dashboard lists the accounts pending deletion (the users list's
// "pending" filter and badge), shows the date on the user page, and an
// administrator cancels one (audited; the account is found again and the
// chore leaves it) or deletes one at once with the page's delete.
func TestAdminPendingDeletion(t *testing.T) {
	e := webtest.NewPeople(t, "--deletion-grace", "48h")
	alice := e.SignIn(alicePhone, "phone")
	bob := e.SignIn(bobPhone, "bob")
	carol := e.SignIn(carolPhone, "carol")
	e.GetContacts(t, bob, map[string]any{"phones": "+" + alicePhone})
	var aliceID, carolID int64
	e.Server.DB().Read.Raw("SELECT id FROM users WHERE phone = ?", "+"+alicePhone).Scan(&aliceID)
	e.Server.DB().Read.Raw("SELECT id FROM users WHERE phone = ?", "+"+carolPhone).Scan(&carolID)
	a := e.AdminLogin("alice", "operator")
	if got := a.Get("/admin/users?state=pending").CountTestID(t, "state"); got != 0 {
		t.Errorf("%d pending deletions before any", got)
	}
	e.JSON(map[string]any{"op": "deleteaccount", "token": alice, "confirm": alicePhone}).ExpectOK(t)
	e.JSON(map[string]any{"op": "deleteaccount", "token": carol, "confirm": carolPhone}).ExpectOK(t)

	list := a.Get("/admin/users?state=pending")
	expectStatus(t, list, http.StatusOK)
	expectIn(t, list, "+"+alicePhone, "+"+carolPhone)
	if strings.Contains(string(list.Body), "+"+bobPhone) {
		t.Error("bob is listed as pending deletion")
	}
	if states := list.HTML(t).Find(webtest.TestIDSelector("state")); states.Length() != 2 || states.First().Text() != "deletion-pending" {
		t.Errorf("badges: %d, %q", states.Length(), states.First().Text())
	}
	page := a.Get("/admin/users/" + strconv.FormatInt(aliceID, 10))
	if due := page.TestIDText(t, "deletion-due"); !strings.Contains(due, e.Clock.Now().Add(48*time.Hour).UTC().Format("2006-01-02")) {
		t.Errorf("the user page says %q", due)
	}

	r := a.Post("/admin/users/"+strconv.FormatInt(aliceID, 10)+"/cancel-deletion", nil)
	expectStatus(t, r, http.StatusOK)
	expectIn(t, r, "Deletion cancelled")
	if r.CountTestID(t, "cancel-deletion") != 0 || r.TestIDText(t, "state") != "active" {
		t.Errorf("after the cancellation the page still shows the pending deletion")
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'account_deletion_cancelled' AND actor = 'admin:alice' AND user_id = ? AND detail LIKE '%by an administrator'", aliceID); n != 1 {
		t.Errorf("%d account_deletion_cancelled entries", n)
	}
	if got := e.GetContacts(t, bob, map[string]any{"phones": "+" + alicePhone}); len(got.Contacts) != 1 {
		t.Errorf("bob does not find alice after the cancellation: %+v", got.Contacts)
	}
	again := a.Post("/admin/users/"+strconv.FormatInt(aliceID, 10)+"/cancel-deletion", nil)
	expectStatus(t, again, http.StatusConflict)
	expectIn(t, again, "no pending deletion")

	// Deleting now is the user page's delete, as for any user.
	r = a.Post("/admin/users/"+strconv.FormatInt(carolID, 10)+"/delete", map[string]string{"confirm": "+" + carolPhone, "password": webtest.AdminPassword})
	expectStatus(t, r, http.StatusOK)
	if n := e.Count("SELECT COUNT(*) FROM users WHERE id = ?", carolID); n != 0 {
		t.Error("carol was not deleted now")
	}

	e.Clock.Advance(49 * time.Hour)
	e.Server.DeletePendingAccounts(context.Background())
	if n := e.Count("SELECT COUNT(*) FROM users"); n != 2 {
		t.Errorf("%d users after the date, want alice and bob", n)
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'account_deleted' AND actor = 'system'"); n != 0 {
		t.Errorf("the chore deleted %d accounts", n)
	}
}
