package web_test

import (
	"strings"
	"testing"

	"roster/web/webtest"
)

// Group notices travel the fan-out like a join's, so a member whose app is
// closed hears of a group they were added to, and of its later changes, as
// data-only "group_changed" pushes.
func TestPushGroupNoticesReachOfflineMembers(t *testing.T) {
	fcm := webtest.NewFakeFCM(t)
	e := webtest.NewPeople(t, fcm.Args()...)
	bob := e.SignIn(webtest.FRPhone, "bob-phone")
	e.JSON(map[string]any{"op": "setnotify", "token": bob, "notifytoken": "fcm-token-of-bob"}).ExpectOK(t)
	alice := e.SignIn(webtest.USPhone, "alice-phone")
	e.FanOut()
	runPushes(e)
	before := len(fcm.Messages()) // Bob has no address book: nothing about Alice's join

	r := e.JSON(map[string]any{"op": "setgroup", "token": alice, "name": "Hikers", "m": "+" + webtest.FRPhone})
	r.ExpectOK(t)
	e.FanOut()
	runPushes(e)
	msgs := fcm.Messages()[before:]
	if len(msgs) != 1 || msgs[0].Token != "fcm-token-of-bob" || msgs[0].Type != "group_changed" {
		t.Fatalf("pushes after Bob was added to a group: %+v, want one group_changed to his token", msgs)
	}

	gid := r.String("gid")
	e.JSON(map[string]any{"op": "setgroup", "token": alice, "gid": gid, "name": "Hikers and bikers", "m": "+" + webtest.FRPhone}).ExpectOK(t)
	e.FanOut()
	runPushes(e)
	msgs = fcm.Messages()[before:]
	if len(msgs) != 2 || msgs[1].Token != "fcm-token-of-bob" || msgs[1].Type != "group_changed" {
		t.Fatalf("pushes after the rename: %+v, want a second group_changed to Bob's token", msgs)
	}
	for _, m := range msgs {
		if m.Body == "" || strings.Contains(m.Body, "Hikers") || strings.Contains(m.Body, webtest.FRPhone) || strings.Contains(m.Body, webtest.USPhone) {
			t.Errorf("a group push carries personal data or nothing: %s", m.Body)
		}
	}
}
