package handlers_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"roster/web/webtest"
)

const day = 24 * time.Hour

// A number proven by code whose account was not seen for --recycle-after
// gets a fresh account; the old one is kept, detached from the number
// (marked, its sessions ended, no longer found by it). Address books with
// the number find the new account, whose join is announced under its own
// settings; nothing of the old account reaches them.
func TestRecycledNumberOfAnInactiveAccount(t *testing.T) {
	e := webtest.NewPeople(t)
	old := e.SignIn(alicePhone, "phone")
	e.SetProfile(t, old, map[string]any{"name": "Old Alice"})
	bob := e.SignIn(bobPhone, "bob")
	e.GetContacts(t, bob, map[string]any{"phones": "+" + alicePhone})
	var oldID int64
	e.Server.DB().Read.Raw("SELECT id FROM users WHERE phone = ?", "+"+alicePhone).Scan(&oldID)
	e.GetContacts(t, bob, map[string]any{"ts": 0}) // bob stays active
	e.FanOut()

	e.Clock.Advance(181 * day)
	e.GetContacts(t, bob, map[string]any{"ts": 0})
	newTok := e.SignIn(alicePhone, "new-owner")
	var newID int64
	e.Server.DB().Read.Raw("SELECT id FROM users WHERE phone = ?", "+"+alicePhone).Scan(&newID)
	if newID == 0 || newID == oldID {
		t.Fatalf("the number signs in to user %d (the old account is %d)", newID, oldID)
	}
	if n := e.Count("SELECT COUNT(*) FROM users WHERE id = ? AND phone = ? AND lost_phone = ? AND number_lost_at IS NOT NULL AND phone_hash IS NULL AND name = 'Old Alice'",
		oldID, fmt.Sprint("lost:", oldID), "+"+alicePhone); n != 1 {
		t.Error("the old account is not kept, marked and detached from the number")
	}
	e.JSON(map[string]any{"op": "sessions", "token": old}).ExpectFail(t, "AUTHFAIL")
	if got := listOwnSessions(t, e, newTok); len(got) != 1 || got[0].Device != "new-owner" {
		t.Errorf("the new account's sessions: %+v", got)
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'number_recycled' AND user_id = ? AND phone = ?", oldID, "+"+alicePhone); n != 1 {
		t.Errorf("%d number_recycled entries", n)
	}
	// The dashboard lists the old account among those whose number was
	// lost, under the number it had, and only it.
	admin := e.AdminLogin("root", "owner")
	list := admin.Get("/admin/users?state=lost")
	if n := list.CountTestID(t, "user-row"); n != 1 || list.TestIDText(t, "state") != "number-lost" ||
		list.TestIDText(t, "user-link") != "+1 201-555-0101" {
		t.Errorf("lost accounts listed: %d; %s", n, list.Body)
	}
	page := admin.Get(fmt.Sprintf("/admin/users/%d", oldID))
	if page.TestIDText(t, "state") != "number-lost" || !strings.Contains(page.TestID(t, "number-history").Text(), "number_recycled") {
		t.Errorf("the old account's page: %s", page.Body)
	}
	// The new holder's page names the account the number was taken from.
	if h := admin.Get(fmt.Sprintf("/admin/users/%d", newID)).TestID(t, "number-history").Text(); !strings.Contains(h, "number_recycled") ||
		!strings.Contains(h, fmt.Sprintf("account %d, last seen", oldID)) {
		t.Errorf("the new account's number history: %s", h)
	}
	// An administrator deletes the old account, typing the number it had.
	admin.Post(fmt.Sprintf("/admin/users/%d/delete", oldID), map[string]string{"password": webtest.AdminPassword, "confirm": "+" + alicePhone})
	if n := e.Count("SELECT COUNT(*) FROM users WHERE id = ?", oldID); n != 0 {
		t.Error("the administrator could not delete the account whose number was lost")
	}
	// Bob's book finds the new account, nameless, not the old one.
	got := e.GetContacts(t, bob, map[string]any{"phones": "+" + alicePhone})
	if len(got.Contacts) != 1 || got.Contacts[0].Name != "" || got.Contacts[0].Phone != alicePhone {
		t.Errorf("bob finds %+v", got.Contacts)
	}
	// The join notice is the new account's; the old account sends none.
	e.FanOut()
	if n := e.Count("SELECT COUNT(*) FROM events WHERE type = 'joined' AND user_id = ? AND body NOT LIKE '%Old Alice%'", newID); n != 1 {
		t.Error("no join notice of the new account")
	}
	if n := e.Count("SELECT COUNT(*) FROM event_deliveries d JOIN events v ON v.id = d.event_id WHERE v.body LIKE '%Old Alice%' AND v.created_at > ?",
		webtest.Start().Add(day).UnixMilli()); n != 0 {
		t.Errorf("%d notices under the old name after the recycling", n)
	}
}

// An account seen within --recycle-after keeps its number: the right code
// signs in to it, as always. With --recycle-after 0, numbers are never
// recycled.
func TestRecycledNumberNotWhileSeen(t *testing.T) {
	for _, c := range []struct {
		name    string
		args    []string
		advance time.Duration
	}{
		{"seen 179 days ago", nil, 179 * day},
		{"recycling off", []string{"--recycle-after", "0"}, 1000 * day},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := webtest.NewPeople(t, c.args...)
			e.SignIn(alicePhone, "phone")
			var id int64
			e.Server.DB().Read.Raw("SELECT id FROM users WHERE phone = ?", "+"+alicePhone).Scan(&id)
			e.Clock.Advance(c.advance)
			e.SignIn(alicePhone, "tablet")
			if n := e.Count("SELECT COUNT(*) FROM sessions WHERE user_id = ? AND device = 'tablet'", id); n != 1 {
				t.Error("the right code did not sign in to the existing account")
			}
			if n := e.Count("SELECT COUNT(*) FROM users"); n != 1 {
				t.Errorf("%d users", n)
			}
		})
	}
}

// changephone onto a number whose account was not seen for --recycle-after
// takes it: that account is detached, as at a sign-in.
func TestChangePhoneOntoARecycledNumber(t *testing.T) {
	e := webtest.NewPeople(t)
	e.SignIn(bobPhone, "bob")
	var bobID int64
	e.Server.DB().Read.Raw("SELECT id FROM users WHERE phone = ?", "+"+bobPhone).Scan(&bobID)
	e.Clock.Advance(200 * day)
	alice := e.SignIn(alicePhone, "phone")
	e.Clock.Advance(time.Minute)
	r := changePhone(t, e, alice, bobPhone, nil)
	r.ExpectOK(t)
	if n := e.Count("SELECT COUNT(*) FROM users WHERE id = ? AND lost_phone = ?", bobID, "+"+bobPhone); n != 1 {
		t.Error("the inactive account was not detached from its number")
	}
	if r.String("phone") != bobPhone {
		t.Errorf("reply %s", r.Body)
	}
}

// The account asking is present: changephone never detaches it from its
// own number, even when its stored last-seen time is older than
// --recycle-after (the token check writes it at most once a minute).
func TestChangePhoneNeverRecyclesTheCaller(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "phone")
	e.Clock.Advance(time.Minute)
	e.JSON(map[string]any{"op": "changephone", "appid": "test.app", "token": alice, "phone": alicePhone}).ExpectOK(t)
	code := e.LastCode("+" + alicePhone)
	write := e.Server.DB().Write
	write.Exec("UPDATE users SET last_seen_at = 0, created_at = 0")
	write.Exec("UPDATE sessions SET last_used_at = ?", e.Clock.Now().UnixMilli())
	e.JSON(map[string]any{"op": "changephone", "appid": "test.app", "token": alice, "phone": alicePhone, "otp": code}).ExpectFail(t, "BADREQUEST")
	if n := e.Count("SELECT COUNT(*) FROM users WHERE phone = ? AND number_lost_at IS NULL", "+"+alicePhone); n != 1 {
		t.Error("the caller's account was detached from its own number")
	}
}
