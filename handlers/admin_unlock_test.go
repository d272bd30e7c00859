package handlers_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"roster/web/webtest"
)

// lockAndExhaust makes the number locked for the test client's network
// (ten wrong codes) with its hourly code quota used up (five codes).
func lockAndExhaust(t *testing.T, e *webtest.Env, digits string) {
	t.Helper()
	for i := range 5 {
		e.Clock.Advance(31 * time.Second)
		e.JSON(map[string]any{"op": "login", "appid": "a", "phone": digits}).ExpectOK(t)
		for range 5 {
			if i >= 3 {
				e.JSON(map[string]any{"op": "login", "appid": "a", "phone": digits, "otp": "000000"})
			}
		}
	}
	e.Clock.Advance(31 * time.Second)
	e.JSON(map[string]any{"op": "login", "appid": "a", "phone": digits}).ExpectFail(t, "LOCKED")
}

// Unlocking a number from its user's page clears its lock and its quotas:
// a code can be asked for and used at once; the unlock is audited.
func TestUnlockFromTheUserPage(t *testing.T) {
	e := webtest.New(t)
	uid, _ := e.SignedInUser(webtest.USPhone, "a")
	e.Clock.Advance(time.Hour) // the sign-in's code out of the hourly quota
	lockAndExhaust(t, e, webtest.USPhone)
	path := "/admin/users/" + uid + "/unlock"
	webtest.Run(t, []webtest.Scenario{
		{Name: "a viewer is refused", SignedInAs: "viewer", Method: http.MethodPost, URL: path, ExpectedStatus: http.StatusForbidden},
	})
	a := e.AdminLogin("olga", "operator")
	r := a.HTMX(path, nil)
	expectStatus(t, r, http.StatusOK)
	if got := r.HTML(t).Find(`[data-testid="codes"] [data-testid="notice"]`).Text(); got != "Unlocked +12015550123: it was locked on 1 network; its wrong codes and its hourly and daily code quotas start afresh." {
		t.Errorf("notice %q", got)
	}
	e.JSON(map[string]any{"op": "login", "appid": "a", "phone": webtest.USPhone}).ExpectOK(t)
	e.Verify(webtest.USPhone, e.LastCode("+"+webtest.USPhone)).ExpectOK(t)
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_unlock_phone' AND actor = 'admin:olga' AND phone = '+12015550123' AND user_id = ?", uid); n != 1 {
		t.Errorf("%d unlocks audited", n)
	}
	// The history stays: the codes from before the unlock are all there.
	if n := e.Count("SELECT COUNT(*) FROM otp_codes WHERE phone = '+12015550123'"); n != 7 {
		t.Errorf("%d codes on record, want 7", n)
	}
}

// From the codes page, a number in any format is unlocked and the list's
// filter kept; a text that is no number unlocks nothing and says so.
func TestUnlockFromTheCodesPage(t *testing.T) {
	e := webtest.New(t)
	lockAndExhaust(t, e, webtest.USPhone)
	a := e.AdminLogin("olga", "operator")
	action, _ := a.Get("/admin/codes?q=%2B1201").TestID(t, "unlock-form").Attr("action")
	if action != "/admin/codes/unlock?q=%2B1201" {
		t.Fatalf("the unlock form posts to %q", action)
	}
	r := a.Post(action, map[string]string{"phone": "not a number"})
	expectStatus(t, r, http.StatusBadRequest)
	expectIn(t, r, "Not a phone number")
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_unlock_phone'"); n != 0 {
		t.Error("a refused unlock was audited")
	}
	r = a.Post(action, map[string]string{"phone": "(201) 555-0123"})
	expectStatus(t, r, http.StatusOK)
	expectIn(t, r, "Unlocked +12015550123: it was locked on 1 network")
	if v, _ := r.HTML(t).Find(`input[name="q"]`).Attr("value"); v != "+1201" {
		t.Errorf("after the unlock, the list is filtered by %q", v)
	}
	e.JSON(map[string]any{"op": "login", "appid": "a", "phone": webtest.USPhone}).ExpectOK(t)
	// Unlocking again finds nothing locked.
	e.Clock.Advance(time.Minute)
	if r := a.Post(action, map[string]string{"phone": "+12015550123"}); !strings.Contains(string(r.Body), "it was locked on no network") {
		t.Errorf("second unlock: %.800s", r.Body)
	}
}

// An unlock starts the daily code quota afresh too: a number that asked
// for its ten codes of the day over three hours, never five in one (so the
// hourly quota is not what stops it), gets a code again at once, and signs
// in with it.
func TestUnlockClearsTheDailyQuota(t *testing.T) {
	e := webtest.NewPeople(t) // no quota by IP: only the number's own
	ask := func() *webtest.Response {
		e.Clock.Advance(31 * time.Second) // past the resend cooldown
		return e.JSON(map[string]any{"op": "login", "appid": "a", "phone": webtest.USPhone})
	}
	for i, n := range []int{4, 4, 2} {
		if i > 0 {
			e.Clock.Advance(time.Hour)
		}
		for range n {
			ask().ExpectOK(t)
		}
	}
	r := ask()
	r.ExpectFail(t, "RATELIMIT")
	if wait, err := strconv.Atoi(r.String("retry_after")); err != nil || wait <= 3600 {
		t.Fatalf("retry_after %q: the refusal is not the daily quota's", r.String("retry_after"))
	}
	a := e.AdminLogin("olga", "operator")
	r = a.Post("/admin/codes/unlock", map[string]string{"phone": "(201) 555-0123"})
	expectStatus(t, r, http.StatusOK)
	expectIn(t, r, "its wrong codes and its hourly and daily code quotas start afresh")
	ask().ExpectOK(t)
	e.Verify(webtest.USPhone, e.LastCode("+"+webtest.USPhone)).ExpectOK(t)
}
