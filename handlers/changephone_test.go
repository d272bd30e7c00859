package handlers_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"roster/web/webtest"
)

// aliceNewPhone is nobody's until alice moves to it.
const aliceNewPhone = "12015550106"

// changePhone runs both steps of changephone and returns the verify reply.
func changePhone(t testing.TB, e *webtest.Env, token, to string, extra map[string]any) *webtest.Response {
	t.Helper()
	e.JSON(map[string]any{"op": "changephone", "appid": "test.app", "token": token, "phone": to}).ExpectOK(t)
	p := map[string]any{"op": "changephone", "appid": "test.app", "token": token, "phone": to, "otp": e.LastCode("+" + to)}
	for k, v := range extra {
		p[k] = v
	}
	return e.JSON(p)
}

func contactPhones(r webtest.ContactsReply) []string {
	var out []string
	for _, c := range r.Contacts {
		out = append(out, c.Phone)
	}
	return out
}

// A change of number keeps the account (id, profile, sessions) and moves
// who finds it: an address book with the new number finds it (full and
// incremental sync), one with only the old number no longer does; the old
// number then signs up as a new account. Audited.
func TestChangePhone(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "phone")
	e.Clock.Advance(time.Minute)
	tablet := e.SignIn(alicePhone, "tablet")
	e.SetProfile(t, alice, map[string]any{"name": "Alice"})
	bob := e.SignIn(bobPhone, "bob")
	dave := e.SignIn(davePhone, "dave")
	if got := contactPhones(e.GetContacts(t, bob, map[string]any{"phones": "+" + alicePhone})); len(got) != 1 || got[0] != alicePhone {
		t.Fatalf("bob finds %v before the change", got)
	}
	if got := contactPhones(e.GetContacts(t, dave, map[string]any{"phones": "+" + aliceNewPhone})); len(got) != 0 {
		t.Fatalf("dave finds %v before the change", got)
	}
	var uid int64
	e.Server.DB().Read.Raw("SELECT id FROM users WHERE phone = ?", "+"+alicePhone).Scan(&uid)
	e.Clock.Advance(time.Minute)

	// A wrong code changes nothing and counts as a sign-in's wrong code.
	e.JSON(map[string]any{"op": "changephone", "appid": "test.app", "token": alice, "phone": aliceNewPhone}).ExpectOK(t)
	right := e.LastCode("+" + aliceNewPhone)
	e.JSON(map[string]any{"op": "changephone", "appid": "test.app", "token": alice, "phone": aliceNewPhone, "otp": webtest.WrongCode(right)}).ExpectFail(t, "BADCODE")
	if n := e.Count("SELECT COUNT(*) FROM users WHERE id = ? AND phone = ?", uid, "+"+alicePhone); n != 1 {
		t.Fatal("a wrong code changed the number")
	}
	r := e.JSON(map[string]any{"op": "changephone", "appid": "test.app", "token": alice, "phone": aliceNewPhone, "otp": right})
	r.ExpectOK(t)
	if r.String("phone") != aliceNewPhone || r.String("oldphone") != alicePhone || r.String("name") != "Alice" || r.String("ended") != "0" {
		t.Errorf("reply %s", r.Body)
	}
	if n := e.Count("SELECT COUNT(*) FROM users WHERE id = ? AND phone = ? AND name = 'Alice'", uid, "+"+aliceNewPhone); n != 1 {
		t.Error("the account did not keep its id and profile under the new number")
	}
	for _, tok := range []string{alice, tablet} {
		if got := listOwnSessions(t, e, tok); len(got) != 2 {
			t.Errorf("sessions after the change: %+v", got)
		}
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'phone_changed' AND user_id = ? AND detail LIKE ?",
		uid, "from +"+alicePhone+" to +"+aliceNewPhone+"%"); n != 1 {
		t.Errorf("%d phone_changed entries", n)
	}
	// The dashboard's user page keeps the change apart from the activity.
	history := e.AdminLogin("root", "viewer").Get(fmt.Sprintf("/admin/users/%d", uid)).TestID(t, "number-history")
	if rows := history.Find(webtest.TestIDSelector("audit-row")); rows.Length() != 1 ||
		!strings.Contains(rows.Text(), "from +"+alicePhone+" to +"+aliceNewPhone) {
		t.Errorf("number history on the user page: %q", history.Text())
	}

	// Dave, who has the new number, finds alice: in a full sync and in an
	// incremental one. Bob, who has only the old number, does not.
	if got := contactPhones(e.GetContacts(t, dave, map[string]any{"ts": 0})); len(got) != 1 || got[0] != aliceNewPhone {
		t.Errorf("dave's incremental sync: %v", got)
	}
	if got := contactPhones(e.GetContacts(t, dave, map[string]any{"phones": "+" + aliceNewPhone})); len(got) != 1 || got[0] != aliceNewPhone {
		t.Errorf("dave's full sync: %v", got)
	}
	if got := contactPhones(e.GetContacts(t, bob, map[string]any{"phones": "+" + alicePhone})); len(got) != 0 {
		t.Errorf("bob, with the old number only, finds %v", got)
	}
	if got := contactPhones(e.GetContacts(t, bob, map[string]any{"ts": 0})); len(got) != 0 {
		t.Errorf("bob's incremental sync: %v", got)
	}
	// The change's notices: dave, who has the new number, gets its profile
	// notice; bob, who has only the old one, a notice naming both numbers
	// (announce is on by default).
	e.FanOut()
	notices := func(who, oldphone string) int64 {
		return e.Count(`SELECT COUNT(*) FROM event_deliveries d JOIN events v ON v.id = d.event_id JOIN users r ON r.id = d.recipient_id
			WHERE r.phone = ? AND v.user_id = ? AND v.type = 'profile' AND v.body LIKE ? AND v.body LIKE ?`,
			"+"+who, uid, "%\"phone\":\""+aliceNewPhone+"\"%", "%"+oldphone+"%")
	}
	if n := notices(davePhone, ""); n != 1 || notices(davePhone, "oldphone") != 0 {
		t.Errorf("dave got %d notices of the new number", n)
	}
	if n := notices(bobPhone, "\"oldphone\":\""+alicePhone+"\""); n != 1 || notices(bobPhone, "") != 1 {
		t.Errorf("bob got %d notices of the change naming the old number", n)
	}
	// Alice's own view: her profile carries the new number.
	if u := e.GetContacts(t, alice, map[string]any{"ts": 0}).U; u.Phone != aliceNewPhone {
		t.Errorf("alice's own profile: %+v", u)
	}

	// The old number is free: it signs up a new account.
	e.Clock.Advance(time.Minute)
	e.SignIn(alicePhone, "someone-else")
	if n := e.Count("SELECT COUNT(*) FROM users WHERE phone = ? AND id <> ?", "+"+alicePhone, uid); n != 1 {
		t.Error("the old number did not sign up as a new account")
	}
}

// With announce=0 the books holding the old number are not told.
func TestChangePhoneWithoutAnnouncing(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "phone")
	bob := e.SignIn(bobPhone, "bob")
	e.GetContacts(t, bob, map[string]any{"phones": "+" + alicePhone})
	e.FanOut()
	e.Clock.Advance(time.Minute)
	changePhone(t, e, alice, aliceNewPhone, map[string]any{"announce": 0}).ExpectOK(t)
	e.FanOut()
	if n := e.Count("SELECT COUNT(*) FROM events WHERE body LIKE '%oldphone%'"); n != 0 {
		t.Errorf("%d notices of the change with announce=0", n)
	}
}

// With others=1 the change also ends the caller's other sessions.
func TestChangePhoneEndsOthers(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "phone")
	e.Clock.Advance(time.Minute)
	tablet := e.SignIn(alicePhone, "tablet")
	r := changePhone(t, e, alice, aliceNewPhone, map[string]any{"others": 1})
	r.ExpectOK(t)
	if r.String("ended") != "1" {
		t.Errorf("reply %s", r.Body)
	}
	e.JSON(map[string]any{"op": "sessions", "token": tablet}).ExpectFail(t, "AUTHFAIL")
	if got := listOwnSessions(t, e, alice); len(got) != 1 {
		t.Errorf("left: %+v", got)
	}
}

// changephone's refusals, each in the envelope and changing nothing.
func TestChangePhoneErrors(t *testing.T) {
	unchanged := func(t testing.TB, e *webtest.Env, _ *webtest.Response) {
		if n := e.Count("SELECT COUNT(*) FROM users WHERE phone = ?", "+"+alicePhone); n != 1 {
			t.Error("alice's number changed")
		}
		if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'phone_changed'"); n != 0 {
			t.Errorf("%d phone_changed entries", n)
		}
	}
	verify := func(to string) func(t testing.TB, e *webtest.Env) *http.Request {
		return func(t testing.TB, e *webtest.Env) *http.Request {
			alice := e.SignIn(alicePhone, "a")
			e.Clock.Advance(time.Minute)
			if to == bobPhone {
				e.SignIn(bobPhone, "b")
				e.Clock.Advance(time.Minute)
			}
			e.JSON(map[string]any{"op": "changephone", "appid": "test.app", "token": alice, "phone": to}).ExpectOK(t)
			return httptest.NewRequest(http.MethodGet, "/api.php?op=changephone&appid=test.app&token="+alice+"&phone="+to+"&otp="+e.LastCode("+"+to), nil)
		}
	}
	ask := func(query string) func(t testing.TB, e *webtest.Env) *http.Request {
		return func(t testing.TB, e *webtest.Env) *http.Request {
			return httptest.NewRequest(http.MethodGet, "/api.php?op=changephone&appid=test.app&token="+e.SignIn(alicePhone, "a")+query, nil)
		}
	}
	webtest.Run(t, []webtest.Scenario{
		{Name: "no token", URL: "/api.php?op=changephone&phone=" + aliceNewPhone,
			ExpectedFields: map[string]any{"result": "FAIL", "error": "AUTHFAIL"}},
		{Name: "no phone", Request: ask(""),
			ExpectedFields: map[string]any{"result": "FAIL", "error": "MISSINGPARA"}, After: unchanged},
		{Name: "not a number", Request: ask("&phone=12345"),
			ExpectedFields: map[string]any{"result": "FAIL", "error": "BADPHONE"}, After: unchanged},
		{Name: "a code without appid", Request: func(t testing.TB, e *webtest.Env) *http.Request {
			r := verify(aliceNewPhone)(t, e)
			return httptest.NewRequest(http.MethodGet, strings.Replace(r.RequestURI, "appid=test.app&", "", 1), nil)
		}, ExpectedFields: map[string]any{"result": "FAIL", "error": "MISSINGAPPID"}, After: unchanged},
		{Name: "no code asked", Request: ask("&phone=" + aliceNewPhone + "&otp=123456"),
			ExpectedFields: map[string]any{"result": "FAIL", "error": "BADCODE"}, After: unchanged},
		{Name: "another account's number", Request: verify(bobPhone),
			ExpectedFields: map[string]any{"result": "FAIL", "error": "NUMBERTAKEN"}, After: unchanged},
		{Name: "the same number", Request: verify(alicePhone),
			ExpectedFields: map[string]any{"result": "FAIL", "error": "BADREQUEST"}, After: unchanged},
	})
}

// The account keeps what it had under the old number: its address book
// (the same numbers, found again without a new upload) and its groups, in
// the same roles, now listing the new number; it still runs the group it
// owns.
func TestChangePhoneKeepsBookAndGroups(t *testing.T) {
	e := webtest.NewPeople(t)
	w := newGroupWorld(t, e) // alice owns Hikers: bob (admin), carol; dave is in none
	e.GetContacts(t, w.alice, map[string]any{"phones": "+" + bobPhone + ",+" + davePhone + ",+33698765432"})
	joined := e.JSON(map[string]any{"op": "setgroup", "token": w.dave, "name": "Climbers", "m": alicePhone})
	joined.ExpectOK(t)
	var uid int64
	e.Server.DB().Read.Raw("SELECT id FROM users WHERE phone = ?", "+"+alicePhone).Scan(&uid)
	book := func() int64 { return e.Count("SELECT COUNT(*) FROM address_book WHERE owner_id = ?", uid) }
	roles := func() string {
		var rs []string
		e.Server.DB().Read.Raw("SELECT CAST(group_id AS TEXT) || '/' || CAST(role AS TEXT) FROM group_members WHERE user_id = ? ORDER BY group_id", uid).Scan(&rs)
		return strings.Join(rs, ",")
	}
	bookBefore, rolesBefore := book(), roles()
	if bookBefore != 3 || rolesBefore != w.gid+"/2,"+joined.String("gid")+"/0" {
		t.Fatalf("before: %d numbers in the book, groups %q", bookBefore, rolesBefore)
	}
	e.Clock.Advance(time.Minute)
	changePhone(t, e, w.alice, aliceNewPhone, nil).ExpectOK(t)

	if n, r := book(), roles(); n != bookBefore || r != rolesBefore {
		t.Errorf("after: %d numbers in the book, groups %q; want %d, %q", n, r, bookBefore, rolesBefore)
	}
	var people []string // the delta sync lists her groups too, without a phone
	for _, p := range contactPhones(e.GetContacts(t, w.alice, map[string]any{"ts": 0})) {
		if p != "" {
			people = append(people, p)
		}
	}
	if slices.Sort(people); !slices.Equal(people, []string{bobPhone, davePhone}) {
		t.Errorf("alice's contacts after the change: %v", people)
	}
	for gid, want := range map[string]string{
		w.gid:                "2:" + aliceNewPhone + "," + bobPhone + "," + carolPhone,
		joined.String("gid"): "1:" + davePhone + "," + aliceNewPhone,
	} {
		if r := e.JSON(map[string]any{"op": "getgroup", "token": w.alice, "gid": gid}); r.String("members") != want {
			t.Errorf("group %s after the change: %s, want members %s", gid, r.Body, want)
		}
	}
	e.JSON(map[string]any{"op": "editmembers", "token": w.alice, "gid": w.gid, "m": davePhone, "delete": 0}).ExpectOK(t)
}
