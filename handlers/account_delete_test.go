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
// store, and no row of any table names the user afterwards but the audit
// log's and the sign-in state kept per number (codes, their guard, the
// messages that carried them). Others keep their accounts and books; the
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
	e.Server.DB().Read.Raw("SELECT id FROM users WHERE phone = ?", "+"+alicePhone).Scan(&uid)
	if n := rowsNaming(t, e, uid, alicePhone); len(n) < 5 {
		t.Fatalf("before the deletion, only these tables name alice: %v", n)
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
	kept := rowsNaming(t, e, uid, alicePhone)
	for table := range kept {
		if !slices.Contains([]string{"audit_log", "otp_codes", "phone_guards", "outbox"}, table) {
			t.Errorf("after the deletion, %d rows of %s name alice", kept[table], table)
		}
	}
	if kept["audit_log"] == 0 {
		t.Error("the audit log forgot alice")
	}
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

// rowsNaming counts, table by table, the rows of every table of the schema
// that name the user: by id in a column that references users (user_id,
// owner_id, recipient_id; the users table's own id), or by the number's
// digits in any text column.
func rowsNaming(t testing.TB, e *webtest.Env, uid int64, digits string) map[string]int64 {
	t.Helper()
	var cols []struct{ Tbl, Col, Typ string }
	q := `SELECT m.name AS tbl, p.name AS col, lower(p.type) AS typ FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table'`
	if e.Server.DB().Postgres() {
		q = `SELECT c.table_name AS tbl, c.column_name AS col, lower(c.data_type) AS typ FROM information_schema.columns c
			JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
			WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'`
	}
	if err := e.Server.DB().Read.Raw(q).Scan(&cols).Error; err != nil || len(cols) < 50 {
		t.Fatalf("the schema's columns: %d (err %v)", len(cols), err)
	}
	out := map[string]int64{}
	for _, c := range cols {
		var where string
		var arg any
		switch {
		case c.Col == "user_id" || c.Col == "owner_id" || c.Col == "recipient_id" || (c.Tbl == "users" && c.Col == "id"):
			where, arg = fmt.Sprintf(`"%s" = ?`, c.Col), uid
		case strings.Contains(c.Typ, "text") || strings.Contains(c.Typ, "char") || strings.Contains(c.Typ, "json"):
			where, arg = fmt.Sprintf(`CAST("%s" AS TEXT) LIKE ?`, c.Col), "%"+digits+"%"
		default:
			continue
		}
		var n int64
		if err := e.Server.DB().Read.Raw(fmt.Sprintf(`SELECT COUNT(*) FROM "%s" WHERE %s`, c.Tbl, where), arg).Scan(&n).Error; err != nil {
			t.Fatalf("%s.%s: %v", c.Tbl, c.Col, err)
		}
		if n > 0 {
			out[c.Tbl] += n
		}
	}
	return out
}
