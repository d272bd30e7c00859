package web_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"roster/web/webtest"
)

// A change of number on one instance racing a sign-in to the old number on
// the other: whichever commits first, the account ends with the new
// number, and the sign-in either reached it (before the change) or signed
// up a new account under the now free old number; never two accounts with
// one number, never a failure.
func TestChangePhoneRacesSignInAcrossInstances(t *testing.T) {
	a, b, _, _ := twoInstances(t)
	outcomes := map[string]int{}
	for round := range 9 {
		oldNum, newNum := fmt.Sprintf("120155503%02d", round), fmt.Sprintf("120155504%02d", round)
		tok := a.SignIn(oldNum, "phone")
		var uid int64
		a.Server.DB().Read.Raw("SELECT id FROM users WHERE phone = ?", "+"+oldNum).Scan(&uid)
		for _, e := range []*webtest.Env{a, b} {
			e.Clock.Advance(time.Minute) // past the old number's resend cooldown
		}
		a.JSON(map[string]any{"op": "changephone", "appid": "test.app", "token": tok, "phone": newNum}).ExpectOK(t)
		b.JSON(map[string]any{"op": "login", "appid": "test.app", "phone": oldNum}).ExpectOK(t)
		changeCode, signInCode := a.LastCode("+"+newNum), b.LastCode("+"+oldNum)

		var change, signIn *webtest.Response
		doChange := func() {
			change = a.JSON(map[string]any{"op": "changephone", "appid": "test.app", "token": tok, "phone": newNum, "otp": changeCode})
		}
		doSignIn := func() {
			signIn = b.JSON(map[string]any{"op": "login", "appid": "test.app", "phone": oldNum, "otp": signInCode, "device": "other"})
		}
		// Races mostly end one way on an idle machine; the rounds in a
		// set order make sure both outcomes are checked every run.
		switch round % 3 {
		case 0:
			var wg sync.WaitGroup
			wg.Go(doChange)
			wg.Go(doSignIn)
			wg.Wait()
		case 1:
			doChange()
			doSignIn()
		case 2:
			doSignIn()
			doChange()
		}
		change.ExpectOK(t)
		signIn.ExpectOK(t)
		if n := a.Count("SELECT COUNT(*) FROM users WHERE id = ? AND phone = ?", uid, "+"+newNum); n != 1 {
			t.Fatalf("round %d: the account does not have the new number", round)
		}
		var signedInto int64
		a.Server.DB().Read.Raw("SELECT user_id FROM sessions WHERE device = 'other' AND revoked_at IS NULL AND user_id IN (SELECT id FROM users WHERE phone IN (?, ?))",
			"+"+oldNum, "+"+newNum).Scan(&signedInto)
		holders := a.Count("SELECT COUNT(*) FROM users WHERE phone = ?", "+"+oldNum)
		switch {
		case signedInto == uid && holders == 0:
			outcomes["sign-in first"]++
		case signedInto != 0 && signedInto != uid && holders == 1 &&
			a.Count("SELECT COUNT(*) FROM users WHERE id = ? AND phone = ?", signedInto, "+"+oldNum) == 1:
			outcomes["change first"]++
		default:
			t.Errorf("round %d: the sign-in reached user %d (the account is %d), %d users hold the old number", round, signedInto, uid, holders)
		}
	}
	if outcomes["sign-in first"] == 0 || outcomes["change first"] == 0 {
		t.Errorf("outcomes %v: each order should have been seen", outcomes)
	}
	t.Logf("outcomes: %v", outcomes)
}
