package web_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"roster/web/webtest"
)

// Pushes after the end of a session, an account or a number: the devices
// signed out keep no push token and get no push; the numbers' new owners
// get theirs only.

const (
	pushAlicePhone  = "12015550123" // webtest.USPhone
	pushAliceNew    = "12015550124"
	pushAlicePhoneT = "fcm-alice-phone"
	pushAliceTablet = "fcm-alice-tablet"
)

// pushWorld: alice on two devices with FCM tokens, in bob's group; no
// push is pending. It returns alice's two access tokens, bob's and the
// group's id.
func pushWorld(t *testing.T, e *webtest.Env) (phone, tablet, bob, gid string) {
	t.Helper()
	bob = e.SignIn(webtest.FRPhone, "bob-phone")
	phone = e.SignIn(pushAlicePhone, "alice-phone")
	e.Clock.Advance(time.Minute)
	tablet = e.SignIn(pushAlicePhone, "alice-tablet")
	e.JSON(map[string]any{"op": "setnotify", "token": phone, "notifytoken": pushAlicePhoneT}).ExpectOK(t)
	e.JSON(map[string]any{"op": "setnotify", "token": tablet, "notifytoken": pushAliceTablet}).ExpectOK(t)
	r := e.JSON(map[string]any{"op": "setgroup", "token": bob, "name": "Hikers", "m": pushAlicePhone})
	r.ExpectOK(t)
	e.FanOut()
	runPushes(e)
	return phone, tablet, bob, r.String("gid")
}

// pushesAfter renames the group (a notice to its members), runs the
// fan-out and the pushes, and returns the tokens pushed to since before.
func pushesAfter(t *testing.T, e *webtest.Env, fcm *webtest.FakeFCM, bob, gid, name string, before int) []string {
	t.Helper()
	e.JSON(map[string]any{"op": "setgroup", "token": bob, "gid": gid, "name": name}).ExpectOK(t)
	e.FanOut()
	runPushes(e)
	var tokens []string
	for _, m := range fcm.Messages()[before:] {
		tokens = append(tokens, m.Token)
	}
	slices.Sort(tokens)
	return tokens
}

func heldPushTokens(e *webtest.Env) int64 {
	return e.Count("SELECT COUNT(*) FROM sessions WHERE notify_token IN (?, ?)", pushAlicePhoneT, pushAliceTablet)
}

// A session its user ended from another device loses its push token, and
// the group's next notice is pushed to the device still signed in only.
func TestPushEndedSessionGetsNone(t *testing.T) {
	fcm := webtest.NewFakeFCM(t)
	e := webtest.NewPeople(t, fcm.Args()...)
	phone, _, bob, gid := pushWorld(t, e)
	before := len(fcm.Messages())
	if got := pushesAfter(t, e, fcm, bob, gid, "Hikers 2", before); !slices.Equal(got, []string{pushAlicePhoneT, pushAliceTablet}) {
		t.Fatalf("before: pushes to %v, want both devices (the test proves nothing otherwise)", got)
	}
	e.JSON(map[string]any{"op": "endsession", "token": phone, "others": 1}).ExpectOK(t)
	if n := e.Count("SELECT COUNT(*) FROM sessions WHERE notify_token = ?", pushAliceTablet); n != 0 {
		t.Errorf("the ended session keeps its push token (%d rows)", n)
	}
	before = len(fcm.Messages())
	if got := pushesAfter(t, e, fcm, bob, gid, "Hikers 3", before); !slices.Equal(got, []string{pushAlicePhoneT}) {
		t.Errorf("after the tablet's session ended: pushes to %v, want the phone only", got)
	}
}

// A deleted account keeps no push token and gets no push: at once, and
// during a deletion grace period (the account is still in the group then).
func TestPushDeletedAccountGetsNone(t *testing.T) {
	for _, grace := range []string{"0s", "24h"} {
		t.Run("grace "+grace, func(t *testing.T) {
			fcm := webtest.NewFakeFCM(t)
			e := webtest.NewPeople(t, append(fcm.Args(), "--deletion-grace", grace)...)
			phone, _, bob, gid := pushWorld(t, e)
			e.JSON(map[string]any{"op": "deleteaccount", "token": phone, "confirm": pushAlicePhone}).ExpectOK(t)
			if n := heldPushTokens(e); n != 0 {
				t.Errorf("%d sessions keep alice's push tokens", n)
			}
			before := len(fcm.Messages())
			if got := pushesAfter(t, e, fcm, bob, gid, "Hikers 2", before); len(got) != 0 {
				t.Errorf("pushes after the deletion to %v", got)
			}
		})
	}
}

// After a change of number that ends the other sessions, the tablet keeps
// no push token; alice's groups reach her phone only; and the old number's
// new owner, added to a group under it, gets that push on their own
// device, never on alice's.
func TestPushAfterChangeOfNumber(t *testing.T) {
	fcm := webtest.NewFakeFCM(t)
	e := webtest.NewPeople(t, fcm.Args()...)
	phone, _, bob, gid := pushWorld(t, e)
	e.JSON(map[string]any{"op": "changephone", "appid": "test.app", "token": phone, "phone": pushAliceNew}).ExpectOK(t)
	e.JSON(map[string]any{"op": "changephone", "appid": "test.app", "token": phone, "phone": pushAliceNew,
		"otp": e.LastCode("+" + pushAliceNew), "others": 1}).ExpectOK(t)
	if n := e.Count("SELECT COUNT(*) FROM sessions WHERE notify_token = ?", pushAliceTablet); n != 0 {
		t.Errorf("the tablet's ended session keeps its push token (%d rows)", n)
	}
	before := len(fcm.Messages())
	if got := pushesAfter(t, e, fcm, bob, gid, "Hikers 2", before); !slices.Equal(got, []string{pushAlicePhoneT}) {
		t.Errorf("after the change: pushes to %v, want alice's phone only", got)
	}

	e.Clock.Advance(time.Minute)
	owner := e.SignIn(pushAlicePhone, "new-owner")
	e.JSON(map[string]any{"op": "setnotify", "token": owner, "notifytoken": "fcm-new-owner"}).ExpectOK(t)
	before = len(fcm.Messages())
	e.JSON(map[string]any{"op": "setgroup", "token": bob, "name": "Climbers", "m": pushAlicePhone}).ExpectOK(t)
	e.FanOut()
	runPushes(e)
	var got []string
	for _, m := range fcm.Messages()[before:] {
		got = append(got, m.Token+" "+m.Type)
	}
	if !slices.Equal(got, []string{"fcm-new-owner group_changed"}) {
		t.Errorf("pushes after the old number's new owner was added to a group: %v", got)
	}
	if strings.Contains(e.Logs(), pushAlicePhoneT) || strings.Contains(e.Logs(), "fcm-new-owner") {
		t.Error("a push token is in the log")
	}
}

// A change of number wakes, by push, the offline devices of both
// audiences: a holder of the old number (told of the change unless
// announce=0) and a holder of the new one (told of the profile). The push
// is the same data-only profile_changed wake-up as any profile notice,
// with no number in it: the numbers reach the app on the event stream.
func TestPushChangedNumberWakesBothHolders(t *testing.T) {
	for _, announce := range []int{1, 0} {
		t.Run(fmt.Sprintf("announce=%d", announce), func(t *testing.T) {
			fcm := webtest.NewFakeFCM(t)
			e := webtest.NewPeople(t, fcm.Args()...)
			alice := e.SignIn(pushAlicePhone, "alice-phone")
			holders := map[string]string{webtest.FRPhone: pushAlicePhone, "447911123456": pushAliceNew} // holder: the number in their book
			for holder, held := range holders {
				tok := e.SignIn(holder, "phone")
				e.JSON(map[string]any{"op": "setnotify", "token": tok, "notifytoken": "fcm-" + holder}).ExpectOK(t)
				e.GetContacts(t, tok, map[string]any{"phones": "+" + held})
			}
			e.FanOut()
			runPushes(e)
			before := len(fcm.Messages())
			e.Clock.Advance(time.Minute)
			e.JSON(map[string]any{"op": "changephone", "appid": "test.app", "token": alice, "phone": pushAliceNew}).ExpectOK(t)
			e.JSON(map[string]any{"op": "changephone", "appid": "test.app", "token": alice, "phone": pushAliceNew,
				"otp": e.LastCode("+" + pushAliceNew), "announce": announce}).ExpectOK(t)
			changedAt := strconv.FormatInt(e.Clock.Now().Unix(), 10)
			e.FanOut()
			runPushes(e)
			var got []string
			for _, m := range fcm.Messages()[before:] {
				got = append(got, m.Token+" "+m.Type+" "+m.TS)
				for _, number := range []string{pushAlicePhone, pushAliceNew} {
					if strings.Contains(m.Body, number) {
						t.Errorf("the push carries a number: %s", m.Body)
					}
				}
			}
			slices.Sort(got)
			want := []string{"fcm-447911123456 profile_changed " + changedAt}
			if announce == 1 {
				want = append([]string{"fcm-" + webtest.FRPhone + " profile_changed " + changedAt}, want...)
			}
			if !slices.Equal(got, want) {
				t.Errorf("pushes after the change: %v, want %v", got, want)
			}
		})
	}
}
