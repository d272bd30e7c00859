package handlers_test

import (
	"testing"

	"roster/web/webtest"
)

// An owner who deletes their own account hands their groups on as the
// dashboard's deletion does: to the oldest admin, who is then the owner and
// first in members; the rest stay.
func TestDeleteAccountHandsGroupsOn(t *testing.T) {
	e := webtest.NewPeople(t)
	w := newGroupWorld(t, e)
	e.JSON(map[string]any{"op": "deleteaccount", "token": w.alice, "confirm": alicePhone}).ExpectOK(t)
	g := e.JSON(map[string]any{"op": "getgroup", "token": w.bob, "gid": w.gid})
	g.ExpectOK(t)
	if got, want := g.String("members"), "1:"+bobPhone+","+carolPhone; got != want {
		t.Errorf("members after the owner deleted their account: %q, want %q", got, want)
	}
	if n := e.Count("SELECT COUNT(*) FROM group_members m JOIN users u ON u.id = m.user_id WHERE m.group_id = ? AND m.role = 2 AND u.phone = ?", w.gid, "+"+bobPhone); n != 1 {
		t.Error("bob, the oldest admin, is not the group's owner")
	}
	e.JSON(map[string]any{"op": "editmembers", "token": w.bob, "gid": w.gid, "m": carolPhone, "delete": 1}).ExpectOK(t)
	if n := e.Count("SELECT COUNT(*) FROM group_members WHERE group_id = ?", w.gid); n != 1 {
		t.Errorf("%d members left, want bob alone", n)
	}
}
