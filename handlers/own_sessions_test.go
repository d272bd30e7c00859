package handlers_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"roster/web/webtest"
)

// ownSession is one entry of a `sessions` reply, with the protocol's types.
type ownSession struct {
	ID       int64  `json:"id"`
	Device   string `json:"device"`
	DT       string `json:"dt"`
	AppID    string `json:"appid"`
	Created  int64  `json:"created"`
	LastUsed int64  `json:"lastused"`
	Expires  int64  `json:"expires"`
	Current  bool   `json:"current"`
}

func listOwnSessions(t testing.TB, e *webtest.Env, token string) []ownSession {
	t.Helper()
	r := e.JSON(map[string]any{"op": "sessions", "token": token})
	r.ExpectOK(t)
	var out struct {
		Sessions []ownSession `json:"sessions"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatalf("reply: %v: %s", err, r.Body)
	}
	return out.Sessions
}

func sessionIDOf(t testing.TB, e *webtest.Env, device string) int64 {
	t.Helper()
	var id int64
	if err := e.Server.DB().Read.Raw("SELECT id FROM sessions WHERE device = ? AND revoked_at IS NULL", device).Scan(&id).Error; err != nil || id == 0 {
		t.Fatalf("no live session of device %q (err %v)", device, err)
	}
	return id
}

// `sessions` lists the caller's live devices, the one asking marked, the
// most recently used first; never another user's, an ended one, or any token.
func TestSessionsListsOwnDevices(t *testing.T) {
	e := webtest.NewPeople(t)
	phone := e.SignIn(alicePhone, "phone")
	e.Clock.Advance(time.Hour)
	laptop := e.SignIn(alicePhone, "laptop")
	e.Clock.Advance(time.Hour)
	tablet := e.SignIn(alicePhone, "tablet")
	bob := e.SignIn(bobPhone, "bob-phone")
	e.SetNotify(phone)
	e.JSON(map[string]any{"op": "logout", "token": tablet}).ExpectOK(t)

	r := e.JSON(map[string]any{"op": "sessions", "token": phone})
	r.ExpectOK(t)
	for _, secret := range []string{phone, laptop, tablet, bob, "push-" + phone[:8], "notifytoken", "token"} {
		if strings.Contains(string(r.Body), secret) {
			t.Errorf("the reply holds %q: %s", secret, r.Body)
		}
	}
	got := listOwnSessions(t, e, phone)
	if len(got) != 2 {
		t.Fatalf("%d sessions, want alice's 2 live ones: %+v", len(got), got)
	}
	// The phone was used last (setnotify, two hours in): it comes first.
	if got[0].Device != "phone" || !got[0].Current || got[1].Device != "laptop" || got[1].Current {
		t.Errorf("want phone (this one) then laptop: %+v", got)
	}
	start := webtest.Start().Unix()
	if got[0].Created != start || got[0].LastUsed != start+7200 || got[1].Created != start+3600 ||
		got[1].LastUsed != got[1].Created || got[1].DT != "1" || got[1].AppID != "test.app" || got[1].Expires <= got[1].Created {
		t.Errorf("times or fields: %+v (start %d)", got, start)
	}
	other := listOwnSessions(t, e, laptop)
	if len(other) != 2 {
		t.Fatalf("from the laptop: %+v", other)
	}
	for _, s := range other {
		if s.Current != (s.Device == "laptop") {
			t.Errorf("from the laptop, the laptop is this one: %+v", other)
		}
	}
	if b := listOwnSessions(t, e, bob); len(b) != 1 || b[0].Device != "bob-phone" {
		t.Errorf("bob sees %+v", b)
	}
}

// endsession refuses what it cannot do in the envelope, and changes nothing.
func TestEndSessionErrors(t *testing.T) {
	// BOBSESSION in params stands for the id of bob's session.
	op := func(params string) func(t testing.TB, e *webtest.Env) *http.Request {
		return func(t testing.TB, e *webtest.Env) *http.Request {
			alice := e.SignIn(alicePhone, "a")
			e.SignIn(bobPhone, "b")
			params = strings.ReplaceAll(params, "BOBSESSION", fmt.Sprint(sessionIDOf(t, e, "b")))
			return httptest.NewRequest(http.MethodGet, "/api.php?op=endsession&token="+alice+params, nil)
		}
	}
	nothingEnded := func(t testing.TB, e *webtest.Env, _ *webtest.Response) {
		if n := e.Count("SELECT COUNT(*) FROM sessions WHERE revoked_at IS NOT NULL"); n != 0 {
			t.Errorf("%d sessions ended", n)
		}
		if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'session_ended'"); n != 0 {
			t.Errorf("%d session_ended entries", n)
		}
	}
	webtest.Run(t, []webtest.Scenario{
		{Name: "no token", URL: "/api.php?op=endsession&others=1",
			ExpectedFields: map[string]any{"result": "FAIL", "error": "AUTHFAIL"}},
		{Name: "sessions without a token", URL: "/api.php?op=sessions",
			ExpectedFields: map[string]any{"result": "FAIL", "error": "AUTHFAIL"}},
		{Name: "neither id nor others", Request: op(""),
			ExpectedFields: map[string]any{"result": "FAIL", "error": "MISSINGPARA"}, After: nothingEnded},
		{Name: "others=0 alone", Request: op("&others=0"),
			ExpectedFields: map[string]any{"result": "FAIL", "error": "MISSINGPARA"}, After: nothingEnded},
		{Name: "id not a number", Request: op("&id=abc"),
			ExpectedFields: map[string]any{"result": "FAIL", "error": "BADREQUEST"}, After: nothingEnded},
		{Name: "id negative", Request: op("&id=-1"),
			ExpectedFields: map[string]any{"result": "FAIL", "error": "BADREQUEST"}, After: nothingEnded},
		{Name: "unknown id", Request: op("&id=999999"),
			ExpectedFields: map[string]any{"result": "FAIL", "error": "BADREQUEST"}, After: nothingEnded},
		{Name: "another user's session", Request: op("&id=BOBSESSION"),
			ExpectedFields: map[string]any{"result": "FAIL", "error": "BADREQUEST"}, After: nothingEnded},
		{Name: "id and others", Request: op("&id=BOBSESSION&others=1"),
			ExpectedFields: map[string]any{"result": "FAIL", "error": "BADREQUEST"}, After: nothingEnded},
		{Name: "others not a boolean", Request: op("&others=maybe"),
			ExpectedFields: map[string]any{"result": "FAIL", "error": "BADREQUEST"}, After: nothingEnded},
		{Name: "others=1 with no other session", Request: op("&others=1"),
			ExpectedFields: map[string]any{"result": "OK", "ended": 0}, After: nothingEnded},
	})
}

// Ending one device by id signs it out at once (its live stream closes, its
// token fails), audits it under the caller, and shows on the user's
// dashboard page; ending it again answers OK with nothing ended.
func TestEndSessionByID(t *testing.T) {
	e := webtest.NewPeople(t, "--event-heartbeat", "1h")
	base := e.Listen()
	phone := e.SignIn(alicePhone, "phone")
	e.Clock.Advance(time.Minute) // past the code's resend cooldown
	laptop := e.SignIn(alicePhone, "laptop")
	laptopID := sessionIDOf(t, e, "laptop")
	s := openStream(t, base+"/api/events", laptop, "")
	waitStreams(t, e, 1)

	r := e.JSON(map[string]any{"op": "endsession", "token": phone, "id": laptopID})
	r.ExpectOK(t)
	if r.String("ended") != "1" {
		t.Errorf("ended %q, want 1", r.String("ended"))
	}
	s.expectEnd(t, 3*time.Second)
	waitStreams(t, e, 0)
	e.JSON(map[string]any{"op": "sessions", "token": laptop}).ExpectFail(t, "AUTHFAIL")
	if got := listOwnSessions(t, e, phone); len(got) != 1 || got[0].Device != "phone" {
		t.Errorf("left: %+v", got)
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'session_ended' AND actor = 'api' AND phone = ? AND detail LIKE ?",
		"+"+alicePhone, fmt.Sprintf("session %d, device \"laptop\"%%", laptopID)); n != 1 {
		t.Errorf("%d session_ended entries naming the laptop, want 1", n)
	}
	if n := e.Count("SELECT COUNT(*) FROM sessions WHERE id = ? AND revoke_reason = ?", laptopID, "ended by the user from another device"); n != 1 {
		t.Error("the session does not record why it ended")
	}

	again := e.JSON(map[string]any{"op": "endsession", "token": phone, "id": fmt.Sprint(laptopID)})
	again.ExpectOK(t)
	if again.String("ended") != "0" {
		t.Errorf("ending it again: ended %q, want 0", again.String("ended"))
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'session_ended'"); n != 1 {
		t.Errorf("%d session_ended entries after ending it twice, want 1", n)
	}

	var uid int64
	e.Server.DB().Read.Raw("SELECT user_id FROM sessions WHERE id = ?", laptopID).Scan(&uid)
	page := e.AdminLogin("root", "owner").Get(fmt.Sprintf("/admin/users/%d", uid))
	if !strings.Contains(string(page.Body), "session_ended") {
		t.Errorf("the user page does not show the ended session's entry: %s", page.Body)
	}
}

// others=1 ends every other device of the caller at once (their streams
// close), not the asking one, not another user's; one audit entry.
func TestEndSessionOthers(t *testing.T) {
	e := webtest.NewPeople(t, "--event-heartbeat", "1h")
	base := e.Listen()
	phone := e.SignIn(alicePhone, "phone")
	e.Clock.Advance(time.Minute) // past the code's resend cooldown
	laptop := e.SignIn(alicePhone, "laptop")
	e.Clock.Advance(time.Minute)
	tablet := e.SignIn(alicePhone, "tablet")
	bob := e.SignIn(bobPhone, "bob-phone")
	streams := []*stream{openStream(t, base+"/api/events", laptop, ""), openStream(t, base+"/api/events", tablet, "")}
	bobStream := openStream(t, base+"/api/events", bob, "")
	waitStreams(t, e, 3)

	r := e.JSON(map[string]any{"op": "endsession", "token": phone, "others": 1})
	r.ExpectOK(t)
	if r.String("ended") != "2" {
		t.Errorf("ended %q, want 2", r.String("ended"))
	}
	for _, s := range streams {
		s.expectEnd(t, 3*time.Second)
	}
	waitStreams(t, e, 1)
	select {
	case <-bobStream.ended:
		t.Error("bob's stream ended")
	default:
	}
	for _, tok := range []string{laptop, tablet} {
		e.JSON(map[string]any{"op": "sessions", "token": tok}).ExpectFail(t, "AUTHFAIL")
	}
	if got := listOwnSessions(t, e, phone); len(got) != 1 || !got[0].Current {
		t.Errorf("left: %+v", got)
	}
	listOwnSessions(t, e, bob)
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'session_ended' AND detail LIKE '2 other sessions ended%'"); n != 1 {
		t.Errorf("%d entries for the two ended sessions, want 1", n)
	}
}
