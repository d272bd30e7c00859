package handlers_test

import (
	"testing"

	"roster/web/webtest"
)

// A change of number onto a number that groups added while it was no
// user's: the account joins those groups as a sign-up would (told "You
// have been added"; the members get the change notice), a group it is in
// already is not joined twice, and the invites are gone.
func TestChangePhoneJoinsInvitedGroups(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "a")
	bob := e.SignIn(bobPhone, "b")
	hikers := e.JSON(map[string]any{"op": "setgroup", "token": bob, "name": "Hikers", "m": aliceNewPhone})
	hikers.ExpectOK(t)
	climbers := e.JSON(map[string]any{"op": "setgroup", "token": bob, "name": "Climbers", "m": alicePhone + "," + aliceNewPhone})
	climbers.ExpectOK(t)
	if hikers.String("members") != "1:"+bobPhone || climbers.String("members") != "1:"+bobPhone+","+alicePhone {
		t.Fatalf("members before: %s, %s", hikers.Body, climbers.Body)
	}
	if n := e.Count("SELECT COUNT(*) FROM group_invites"); n != 2 {
		t.Fatalf("%d invites, want 2", n)
	}
	e.FanOut()
	bobBefore, aliceBefore := deliveredTypes(t, e, bobPhone), deliveredTypes(t, e, alicePhone)

	changePhone(t, e, alice, aliceNewPhone, map[string]any{"announce": 0}).ExpectOK(t)
	for _, g := range []*webtest.Response{hikers, climbers} {
		r := e.JSON(map[string]any{"op": "getgroup", "token": alice, "gid": g.String("gid")})
		r.ExpectOK(t)
		if r.String("members") != "1:"+bobPhone+","+aliceNewPhone {
			t.Errorf("%s after the change: %s", g.String("name"), r.Body)
		}
	}
	if n := e.Count("SELECT COUNT(*) FROM group_invites"); n != 0 {
		t.Errorf("%d invites left", n)
	}
	e.FanOut()
	if got := deliveredTypes(t, e, bobPhone); got != bobBefore+",group" {
		t.Errorf("bob's notices %q, want %q", got, bobBefore+",group")
	}
	if got := deliveredTypes(t, e, aliceNewPhone); got != aliceBefore+",group_added" {
		t.Errorf("alice's notices %q, want %q", got, aliceBefore+",group_added")
	}
}

// The groups a new number brings count toward --groups-per-user with those
// the account is in already: past it, the invite is dropped.
func TestChangePhoneInvitedGroupsWithinLimit(t *testing.T) {
	e := webtest.NewPeople(t, "--groups-per-user", "2")
	alice := e.SignIn(alicePhone, "a")
	bob := e.SignIn(bobPhone, "b")
	e.JSON(map[string]any{"op": "setgroup", "token": alice, "name": "Own"}).ExpectOK(t)
	first := e.JSON(map[string]any{"op": "setgroup", "token": bob, "name": "First", "m": aliceNewPhone})
	first.ExpectOK(t)
	second := e.JSON(map[string]any{"op": "setgroup", "token": bob, "name": "Second", "m": aliceNewPhone})
	second.ExpectOK(t)

	changePhone(t, e, alice, aliceNewPhone, nil).ExpectOK(t)
	e.JSON(map[string]any{"op": "getgroup", "token": alice, "gid": first.String("gid")}).ExpectOK(t)
	e.JSON(map[string]any{"op": "getgroup", "token": alice, "gid": second.String("gid")}).ExpectFail(t, "NOTMEMBER")
	if n := e.Count("SELECT COUNT(*) FROM group_invites"); n != 0 {
		t.Errorf("%d invites left", n)
	}
}
