package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"roster/web/webtest"
)

// deleteaccount refuses without a token, without confirm, or with a confirm
// that is not the account's number, and then deletes nothing.
func TestDeleteAccountErrors(t *testing.T) {
	op := func(params string) func(t testing.TB, e *webtest.Env) *http.Request {
		return func(t testing.TB, e *webtest.Env) *http.Request {
			return httptest.NewRequest(http.MethodGet, "/api.php?op=deleteaccount&token="+e.SignIn(alicePhone, "a")+params, nil)
		}
	}
	stillThere := func(t testing.TB, e *webtest.Env, _ *webtest.Response) {
		if n := e.Count("SELECT COUNT(*) FROM users u JOIN sessions s ON s.user_id = u.id WHERE s.revoked_at IS NULL"); n != 1 {
			t.Errorf("%d live users with a session, want alice's 1", n)
		}
		if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'account_deleted'"); n != 0 {
			t.Errorf("%d account_deleted entries", n)
		}
	}
	webtest.Run(t, []webtest.Scenario{
		{Name: "no token", URL: "/api.php?op=deleteaccount&confirm=" + alicePhone,
			ExpectedFields: map[string]any{"result": "FAIL", "error": "AUTHFAIL"}},
		{Name: "no confirm", Request: op(""),
			ExpectedFields: map[string]any{"result": "FAIL", "error": "MISSINGPARA"}, After: stillThere},
		{Name: "another number", Request: op("&confirm=" + bobPhone),
			ExpectedFields: map[string]any{"result": "FAIL", "error": "BADREQUEST"}, After: stillThere},
		{Name: "a word", Request: op("&confirm=yes"),
			ExpectedFields: map[string]any{"result": "FAIL", "error": "BADREQUEST"}, After: stillThere},
		{Name: "a JSON object", Request: func(t testing.TB, e *webtest.Env) *http.Request {
			body := `{"op":"deleteaccount","token":"` + e.SignIn(alicePhone, "a") + `","confirm":{"phone":"` + alicePhone + `"}}`
			return httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		}, ExpectedFields: map[string]any{"result": "FAIL", "error": "BADREQUEST"}, After: stillThere},
	})
}

// The account's own deletion does what the dashboard's does: its devices
// are signed out at once (streams closed), its photo and files leave the
// store, and no row of any table names the user afterwards but those
// keptAfterDeletion allows (TestDeletionLeavesNoRowNamingTheUser has the
// account with everything). Others keep their accounts and books; the
// number can sign up again as a new account.
func TestDeleteAccount(t *testing.T) {
	e := webtest.NewPeople(t, "--event-heartbeat", "1h")
	base := e.Listen()
	alice := e.SignIn(alicePhone, "phone")
	e.Clock.Advance(time.Minute)
	tablet := e.SignIn(alicePhone, "tablet")
	bob := e.SignIn(bobPhone, "bob")
	e.SetNotify(alice)
	e.GetContacts(t, alice, map[string]any{"phones": "+" + bobPhone + ",+33612345678"})
	e.GetContacts(t, bob, map[string]any{"phones": "+" + alicePhone})
	e.SetProfile(t, alice, map[string]any{"name": "Alice Liddell", "status": "away"})
	photo := e.Multipart(map[string]string{"op": "upload", "token": alice, "profile": "1"}, "photo", "me.png", testImage(t, "png", 80, 60))
	photo.ExpectOK(t)
	chat := e.Multipart(map[string]string{"op": "upload", "token": alice}, "file", "cat.jpg", testImage(t, "jpeg", 64, 64))
	chat.ExpectOK(t)
	files := []string{"/files/" + photo.String("photo"), "/files/" + strings.TrimPrefix(chat.String("file"), e.Config.BaseURL+"/files/")}
	for _, f := range files {
		if r := fetch(e, f); r.Status != http.StatusOK {
			t.Fatalf("GET %s: %d", f, r.Status)
		}
	}
	var uid int64
	var hash []byte
	e.Server.DB().Read.Raw("SELECT id, phone_hash FROM users WHERE phone = ?", "+"+alicePhone).Row().Scan(&uid, &hash)
	if n := rowsNaming(t, e, uid, alicePhone, hash); len(n) < 5 {
		t.Fatalf("before the deletion, only these columns name alice: %v", n)
	}
	s := openStream(t, base+"/api/events", tablet, "")
	waitStreams(t, e, 1)

	r := e.JSON(map[string]any{"op": "deleteaccount", "token": alice, "confirm": "+" + alicePhone})
	r.ExpectOK(t)
	if r.String("deleted") != "true" {
		t.Errorf("reply %s", r.Body)
	}
	s.expectEnd(t, 3*time.Second)
	for _, tok := range []string{alice, tablet} {
		e.JSON(map[string]any{"op": "sessions", "token": tok}).ExpectFail(t, "AUTHFAIL")
	}
	for _, f := range files {
		if r := fetch(e, f); r.Status != http.StatusNotFound {
			t.Errorf("GET %s after the deletion: %d", f, r.Status)
		}
	}
	expectOnlyKept(t, e, rowsNaming(t, e, uid, alicePhone, hash))
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'account_deleted' AND actor = 'api' AND user_id = ? AND detail = ?",
		uid, "2 sessions revoked; profile, photo and address book removed"); n != 1 {
		t.Errorf("%d account_deleted entries", n)
	}

	// Bob keeps his account and his book; alice is not among his contacts.
	if got := e.GetContacts(t, bob, map[string]any{"phones": "+" + alicePhone}); len(got.Contacts) != 0 {
		t.Errorf("bob still finds alice: %+v", got.Contacts)
	}
	// The number signs up again, as a new account with nothing of the old one.
	e.Clock.Advance(time.Minute)
	again := e.SignIn(alicePhone, "phone")
	if got := listOwnSessions(t, e, again); len(got) != 1 {
		t.Errorf("the new account has sessions %+v", got)
	}
	var name string
	e.Server.DB().Read.Raw("SELECT name FROM users WHERE phone = ?", "+"+alicePhone).Scan(&name)
	if name != "" {
		t.Errorf("the new account is named %q", name)
	}
}
