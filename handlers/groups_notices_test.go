package handlers_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"roster/web/webtest"
)

// Group notices on the event stream, the delta sync with groups, and a
// member who is not a user joining.

// Group changes reach the members, and those just removed, on their event
// streams in the old backend's shape (gid set, phone "", members in
// status); those added are told "You have been added to group NAME" (that
// notice, with the group, is their notice of the change). The fan-out
// runs after all three changes committed: each reaches who was a member
// when it was made.
func TestGroupNoticesOnStream(t *testing.T) {
	e := webtest.NewPeople(t, "--event-heartbeat", "200ms")
	alice, bob := e.SignIn(alicePhone, "a"), e.SignIn(bobPhone, "b")
	carol := e.SignIn(carolPhone, "c")
	r := e.JSON(map[string]any{"op": "setgroup", "token": alice, "name": "Hikers", "m": bobPhone})
	r.ExpectOK(t)
	gid := r.String("gid")
	e.JSON(map[string]any{"op": "editmembers", "token": alice, "gid": gid, "m": bobPhone, "delete": 1}).ExpectOK(t)
	e.JSON(map[string]any{"op": "profile", "token": alice, "gid": gid, "name": "Walkers"}).ExpectOK(t)
	e.FanOut()
	base := e.Listen() + "/api/events"

	type notice struct{ event, subject, name, status string }
	read := func(token string, n int) []notice {
		t.Helper()
		s := openStream(t, base, token, "")
		var got []notice
		for range n {
			ev, body := s.next(t)
			if fmt.Sprint(body["gid"]) != gid || body["phone"] != "" {
				t.Errorf("notice %+v %v", ev, body)
			}
			got = append(got, notice{ev.Event, body["subject"].(string), body["name"].(string), body["status"].(string)})
		}
		s.expectNone(t, 300*time.Millisecond)
		s.cancel()
		return got
	}
	members := "1:" + alicePhone + "," + bobPhone
	want := []notice{
		{"group_added", "You have been added to group Hikers", "Hikers", members},
		{"group", "", "Hikers", "1:" + alicePhone}, // removed: told once, without him
	}
	if got := read(bob, 2); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("bob's notices\n%v\nwant\n%v", got, want)
	}
	want = []notice{
		{"group", "", "Hikers", members},
		{"group", "", "Hikers", "1:" + alicePhone},
		{"group", "", "Walkers", "1:" + alicePhone},
	}
	if got := read(alice, 3); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("alice's notices\n%v\nwant\n%v", got, want)
	}
	s := openStream(t, base, carol, "") // never in the group
	s.expectNone(t, 300*time.Millisecond)
	if n := e.Count("SELECT COUNT(*) FROM event_deliveries"); n != 5 {
		t.Errorf("%d deliveries, want 5 (once per recipient)", n)
	}
}

// The delta sync returns the caller's groups changed at or after ts, the
// boundary second included, as contacts with gid and ts strings, phone
// and status empty, and members; a group the caller was removed from
// comes back with members not listing them.
func TestGroupDeltaSync(t *testing.T) {
	e := webtest.NewPeople(t)
	alice, bob := e.SignIn(alicePhone, "a"), e.SignIn(bobPhone, "b")
	type entry struct {
		Name, Status, Phone, GID, TS, Members string
	}
	sync := func(ts int64) []entry {
		t.Helper()
		r := e.JSON(map[string]any{"op": "getcontacts", "token": bob, "ts": ts})
		r.ExpectOK(t)
		var reply struct{ Contacts []entry }
		if err := json.Unmarshal(r.Body, &reply); err != nil {
			t.Fatal(err)
		}
		var groups []entry
		for _, c := range reply.Contacts {
			if c.GID != "0" {
				groups = append(groups, c)
			}
		}
		return groups
	}
	r := e.JSON(map[string]any{"op": "setgroup", "token": alice, "name": "Hikers", "m": bobPhone})
	r.ExpectOK(t)
	gid, created := r.String("gid"), int64(webtest.StartUnix)
	got := sync(0)
	if len(got) != 1 || got[0].GID != gid || got[0].Phone != "" || got[0].Status != "" || got[0].Name != "Hikers" ||
		got[0].TS != strconv.FormatInt(created, 10) || got[0].Members != "1:"+alicePhone+","+bobPhone {
		t.Fatalf("first sync %+v", got)
	}
	if !strings.Contains(string(e.JSON(map[string]any{"op": "getcontacts", "token": bob}).Body), `"gid":"`+gid+`"`) {
		t.Error("gid is not a string")
	}
	// A change in the same second as the one the client saw is not lost.
	e.Clock.Advance(300 * time.Millisecond)
	e.JSON(map[string]any{"op": "profile", "token": alice, "gid": gid, "name": "Walkers"}).ExpectOK(t)
	if got := sync(created); len(got) != 1 || got[0].Name != "Walkers" {
		t.Fatalf("boundary second: %+v", got)
	}
	if got := sync(created + 1); len(got) != 0 {
		t.Fatalf("after the change: %+v", got)
	}
	e.Clock.Advance(5 * time.Second)
	e.JSON(map[string]any{"op": "editmembers", "token": alice, "gid": gid, "m": bobPhone, "delete": 1}).ExpectOK(t)
	removed := created + 5
	if got := sync(removed); len(got) != 1 || got[0].Members != "1:"+alicePhone {
		t.Fatalf("removed: %+v", got)
	}
	if got := sync(removed + 1); len(got) != 0 {
		t.Fatalf("after the removal: %+v", got)
	}
	// Her own sync lists the group too; deleting it tells her once more.
	e.Clock.Advance(5 * time.Second)
	e.JSON(map[string]any{"op": "delgroup", "token": alice, "gid": gid}).ExpectOK(t)
	r = e.JSON(map[string]any{"op": "getcontacts", "token": alice, "ts": removed + 5})
	if !strings.Contains(string(r.Body), `"members":"0:"`) {
		t.Fatalf("deleted group: %s", r.Body)
	}
}

// deliveredTypes lists the types of the notices delivered to a number,
// in order.
func deliveredTypes(t testing.TB, e *webtest.Env, phone string) string {
	t.Helper()
	var types []string
	err := e.Server.DB().Read.Raw(`SELECT e.type FROM event_deliveries d JOIN events e ON e.id = d.event_id
		JOIN users u ON u.id = d.recipient_id WHERE u.phone = ? ORDER BY e.id`, "+"+phone).Scan(&types).Error
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(types, ",")
}

// A number that is not a user's is kept as a keyed hash; when its owner
// signs up they are a member, told "You have been added", and the
// members get the change notice.
func TestGroupMemberWhoIsNotAUserJoins(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "a")
	e.SignIn(bobPhone, "b")
	r := e.JSON(map[string]any{"op": "setgroup", "token": alice, "name": "Hikers", "m": bobPhone + ",+" + erinPhone + "," + carolPhone})
	r.ExpectOK(t)
	gid := r.String("gid")
	if r.String("members") != "1:"+alicePhone+","+bobPhone {
		t.Fatalf("members %s", r.Body)
	}
	if n := e.Count("SELECT COUNT(*) FROM group_invites WHERE length(phone_hash) = 16"); n != 2 {
		t.Fatalf("%d hashed invites, want 2", n)
	}
	// carol is taken off before she signs up: she will not be a member.
	e.JSON(map[string]any{"op": "editmembers", "token": alice, "gid": gid, "m": carolPhone, "delete": 1}).ExpectOK(t)
	e.FanOut()
	before := deliveredTypes(t, e, bobPhone)

	erin, carol := e.SignIn(erinPhone, "e"), e.SignIn(carolPhone, "c")
	g := e.JSON(map[string]any{"op": "getgroup", "token": erin, "gid": gid})
	g.ExpectOK(t)
	if g.String("members") != "1:"+alicePhone+","+bobPhone+","+erinPhone {
		t.Fatalf("after the sign-up: %s", g.Body)
	}
	e.JSON(map[string]any{"op": "getgroup", "token": carol, "gid": gid}).ExpectFail(t, "NOTMEMBER")
	if n := e.Count("SELECT COUNT(*) FROM group_invites"); n != 0 {
		t.Errorf("%d invites left", n)
	}
	e.FanOut()
	if got := deliveredTypes(t, e, bobPhone); got != before+",group" {
		t.Errorf("bob's notices %q, want %q", got, before+",group")
	}
	if got := deliveredTypes(t, e, erinPhone); got != "group_added" {
		t.Errorf("erin's notices %q", got)
	}
	// The delta sync of the new member lists the group.
	if !strings.Contains(string(e.JSON(map[string]any{"op": "getcontacts", "token": erin}).Body), `"gid":"`+gid+`"`) {
		t.Error("the group is not in the new member's sync")
	}
}
