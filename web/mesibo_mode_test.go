package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"roster/web"
	"roster/web/webtest"
)

const mesiboAppToken = "mesibo-app-token-abcdef0123456789"

func mesiboEnv(t *testing.T, fake *webtest.FakeHTTP, extra ...string) *webtest.Env {
	t.Helper()
	args := append([]string{"--token-issuer", "mesibo", "--mesibo-api-url", fake.URL + "/api.php", "--mesibo-timeout", "300ms"}, extra...)
	return deliveryEnv(t, map[string]string{"ROSTER_MESIBO_APP_TOKEN": mesiboAppToken}, args...)
}

func userAdded(uid, token string) webtest.Reply {
	return webtest.Reply{Status: 200, Body: `{"op":"useradd","result":true,"user":{"uid":"` + uid + `","token":"` + token + `"}}`}
}

// signInMesibo runs both login steps and returns the verify reply.
func signInMesibo(t *testing.T, e *webtest.Env, phone, device string) *webtest.Response {
	t.Helper()
	e.JSON(webtest.LoginParams(phone)).ExpectOK(t)
	p := webtest.LoginParams(phone)
	p["otp"], p["device"], p["name"] = e.LastCode("+"+phone), device, "Ann"
	return e.JSON(p)
}

func TestMesiboSignIn(t *testing.T) {
	fake := webtest.NewFakeHTTP(t, userAdded("5302", "mesibo-user-token-0001-abcdef"))
	e := mesiboEnv(t, fake)
	r := signInMesibo(t, e, webtest.USPhone, "phone-a")
	r.ExpectOK(t)
	if r.String("token") != "mesibo-user-token-0001-abcdef" || r.String("uid") != "5302" || r.String("phone") != webtest.USPhone {
		t.Fatalf("reply %s", r.Body)
	}
	reqs := fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d mesibo calls", len(reqs))
	}
	if reqs[0].Method != http.MethodPost || reqs[0].Path != "/api.php" || reqs[0].Query != "" {
		t.Errorf("request %s %s?%s", reqs[0].Method, reqs[0].Path, reqs[0].Query)
	}
	want := `{"op":"useradd","token":"` + mesiboAppToken + `","user":{"address":"` + webtest.USPhone + `","name":"Ann","token":{"appid":"com.example.app","expiry":525600}}}`
	if string(reqs[0].Body) != want {
		t.Errorf("useradd body %s\nwant %s", reqs[0].Body, want)
	}
	// Roster's own ops accept the mesibo token.
	e.SetNotify(r.String("token")).ExpectOK(t)
	if n := e.Count("SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.mesibo_uid = '5302' AND u.mesibo_uid = '5302' AND s.mesibo_token_sealed IS NOT NULL"); n != 1 {
		t.Error("the mesibo uid and sealed token were not stored")
	}
	if n := e.Count("SELECT COUNT(*) FROM sessions WHERE CAST(mesibo_token_sealed AS TEXT) LIKE '%mesibo-user-token%'"); n != 0 {
		t.Error("the mesibo token is stored in clear")
	}
	if strings.Contains(e.Logs(), mesiboAppToken) || strings.Contains(e.Logs(), "mesibo-user-token") {
		t.Error("a token reached the log")
	}
	if strings.Contains(string(r.Body), mesiboAppToken) {
		t.Error("the app token is in the reply")
	}
}

func TestMesiboFailureKeepsCodeValid(t *testing.T) {
	fake := webtest.NewFakeHTTP(t, webtest.Reply{Status: 200, Body: `{"op":"useradd","result":false,"error":"AUTHFAIL","cause":"invalid app token"}`})
	e := mesiboEnv(t, fake)
	e.JSON(webtest.LoginParams(webtest.FRPhone)).ExpectOK(t)
	code := e.LastCode("+" + webtest.FRPhone)
	r := e.Verify(webtest.FRPhone, code)
	r.ExpectFail(t, "BADUSER")
	if r.String("errmsg") != "Signing in with the messaging service failed. Please try again in a moment." {
		t.Errorf("errmsg %q", r.String("errmsg"))
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'mesibo_failed' AND detail = 'mesibo useradd: AUTHFAIL (invalid app token)'"); n != 1 {
		var d []string
		e.Server.DB().Read.Raw("SELECT detail FROM audit_log WHERE type = 'mesibo_failed'").Scan(&d)
		t.Errorf("no audit entry with the cause: %q", d)
	}
	if e.Count("SELECT COUNT(*) FROM users")+e.Count("SELECT COUNT(*) FROM sessions") != 0 {
		t.Error("a user or session exists after the failure")
	}
	// Garbage, then a timeout: the same code keeps working.
	fake.Script(webtest.Reply{Status: 200, Body: "Fatal error: <b>oops</b>"})
	e.Verify(webtest.FRPhone, code).ExpectFail(t, "BADUSER")
	fake.Script(webtest.Reply{Status: 200, Body: `{"result":true}`, Delay: 3 * time.Second})
	e.Verify(webtest.FRPhone, code).ExpectFail(t, "BADUSER")
	fake.Script(userAdded("77", "mesibo-user-token-0077-abcdef"))
	r = e.Verify(webtest.FRPhone, code)
	r.ExpectOK(t)
	if r.String("token") != "mesibo-user-token-0077-abcdef" {
		t.Errorf("reply %s", r.Body)
	}
	// Now the code is used up.
	e.Verify(webtest.FRPhone, code).ExpectFail(t, "BADCODE")
	details := []string{}
	e.Server.DB().Read.Raw("SELECT detail FROM audit_log WHERE type = 'mesibo_failed' ORDER BY id").Scan(&details)
	if len(details) != 3 || !strings.Contains(details[1], "unreadable reply") || !strings.Contains(details[2], "no answer in time") {
		t.Errorf("audit details %q", details)
	}
}

func TestMesiboRevocationOnLogoutAndReplacedDevice(t *testing.T) {
	fake := webtest.NewFakeHTTP(t, userAdded("5302", "mesibo-user-token-0001-abcdef"), userAdded("5302", "mesibo-user-token-0002-abcdef"))
	e := mesiboEnv(t, fake)
	first := signInMesibo(t, e, webtest.USPhone, "phone-a").String("token")
	e.Clock.Advance(time.Minute)
	second := signInMesibo(t, e, webtest.USPhone, "phone-a").String("token") // same device: the first session is replaced
	e.SetNotify(first).ExpectFail(t, "AUTHFAIL")

	fake.Script(webtest.Reply{Status: 502, Body: "bad gateway"}, webtest.Reply{Status: 200, Body: `{"op":"deltoken","result":true}`})
	e.Server.Worker().RunOnce(context.Background())
	e.Clock.Advance(10 * time.Second)
	e.Server.Worker().RunOnce(context.Background())
	reqs := fake.Requests()
	if len(reqs) != 4 {
		t.Fatalf("%d mesibo calls", len(reqs))
	}
	want := `{"op":"deltoken","token":"` + mesiboAppToken + `","user":{"token":"` + first + `","uid":"5302"}}`
	if string(reqs[2].Body) != want || string(reqs[3].Body) != want {
		t.Errorf("deltoken bodies %s / %s\nwant %s", reqs[2].Body, reqs[3].Body, want)
	}
	row := lastOutbox(t, e)
	if row.State != "sent" || row.Channel != "mesibo" || row.Attempts != 2 || strings.Contains(row.Body, "token_sealed") {
		t.Errorf("job %+v", row)
	}
	if as := attempts(t, e); len(as) != 2 || as[0].HTTPStatus != 502 || as[0].Status != "retry" || as[1].Status != "sent" {
		t.Errorf("attempts %+v", as)
	}

	// Logout deletes the second token at mesibo too.
	fake.Script(webtest.Reply{Status: 200, Body: `{"op":"deltoken","result":true}`})
	e.JSON(map[string]any{"op": "logout", "token": second}).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	reqs = fake.Requests()
	var body map[string]any
	json.Unmarshal(reqs[len(reqs)-1].Body, &body)
	if u, _ := body["user"].(map[string]any); body["op"] != "deltoken" || u["token"] != second {
		t.Errorf("logout job %s", reqs[len(reqs)-1].Body)
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'mesibo_revoked'"); n != 2 {
		t.Errorf("%d mesibo_revoked entries", n)
	}
}

func TestMesiboRevocationGivenUp(t *testing.T) {
	fake := webtest.NewFakeHTTP(t, userAdded("9", "mesibo-user-token-0009-abcdef"))
	e := mesiboEnv(t, fake)
	tok := signInMesibo(t, e, webtest.USPhone, "d").String("token")
	fake.Script(webtest.Reply{Status: 200, Body: `{"result":false,"error":"AUTHFAIL","cause":"app token revoked"}`})
	e.JSON(map[string]any{"op": "logout", "token": tok}).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	row := lastOutbox(t, e)
	if row.State != "failed" || row.LastError != "mesibo deltoken: AUTHFAIL (app token revoked)" {
		t.Errorf("job %+v", row)
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'mesibo_revoke_failed'"); n != 1 {
		t.Error("no audit entry for the failed revocation")
	}
}

func TestAppIDAllowList(t *testing.T) {
	e := webtest.New(t, webtest.WithArgs("--app-ids", "com.example.app, com.example.beta"))
	p := webtest.LoginParams(webtest.USPhone)
	p["appid"] = "com.other.app"
	r := e.JSON(p)
	r.ExpectFail(t, "BADAPPID")
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
}

func TestMesiboNeedsAppToken(t *testing.T) {
	cfg, err := web.ParseConfig("roster", []string{"--data-dir", t.TempDir(), "--token-issuer", "mesibo"}, func(string) string { return "" }, discardWriter{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := web.New(context.Background(), cfg, discardLog(), web.Options{Getenv: func(string) string { return "" }}); err == nil ||
		!strings.Contains(err.Error(), "ROSTER_MESIBO_APP_TOKEN") {
		t.Errorf("start without the app token: %v", err)
	}
}

// Revocations outlast a mesibo outage longer than codes are retried.
func TestMesiboRevocationRetriedLongerThanCodes(t *testing.T) {
	fake := webtest.NewFakeHTTP(t, userAdded("9", "mesibo-user-token-0009-abcdef"))
	worker := testWorker
	worker.JobMaxAttempts = 6
	e := webtest.New(t, webtest.WithArgs("--token-issuer", "mesibo", "--mesibo-api-url", fake.URL, "--mesibo-timeout", "300ms"),
		webtest.WithOptions(func(o *web.Options) {
			o.Getenv = func(k string) string { return map[string]string{"ROSTER_MESIBO_APP_TOKEN": mesiboAppToken}[k] }
			o.Worker = worker
		}))
	tok := signInMesibo(t, e, webtest.USPhone, "d").String("token")
	fake.Script(webtest.Reply{Status: 503, Body: "down"})
	e.JSON(map[string]any{"op": "logout", "token": tok}).ExpectOK(t)
	for i := 0; i < 5; i++ {
		e.Server.Worker().RunOnce(context.Background())
		e.Clock.Advance(time.Minute)
	}
	if row := lastOutbox(t, e); row.State != "pending" || row.Attempts != 5 {
		t.Fatalf("after 5 tries: %+v", row)
	}
	e.Server.Worker().RunOnce(context.Background())
	if row := lastOutbox(t, e); row.State != "failed" || row.Attempts != 6 || row.LastError != `mesibo deltoken: HTTP 503: unreadable reply "down"` {
		t.Fatalf("after 6 tries: %+v", row)
	}
}

// mesibo may hand out a token it gave before: the sign-in still works, one
// live session holds the token, and nothing is deleted at mesibo.
func TestMesiboSameTokenAgain(t *testing.T) {
	fake := webtest.NewFakeHTTP(t, userAdded("5302", "mesibo-user-token-same-abcdef"))
	e := mesiboEnv(t, fake)
	signInMesibo(t, e, webtest.USPhone, "phone-a").ExpectOK(t)
	e.Clock.Advance(time.Minute)
	r := signInMesibo(t, e, webtest.USPhone, "tablet-b")
	r.ExpectOK(t)
	e.SetNotify(r.String("token")).ExpectOK(t)
	if n := e.Count("SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL"); n != 1 {
		t.Errorf("%d live sessions", n)
	}
	if n := e.Count("SELECT COUNT(*) FROM outbox WHERE channel = 'mesibo'"); n != 0 {
		t.Error("a deletion of the live token was queued")
	}
}

// In mesibo mode a join notice also goes to each contact as a mesibo
// message (type 1, one-hour expiry) with the protocol's JSON body: the
// fan-out queues it in the outbox, whose sender retries a failure.
func TestMesiboJoinNoticeIsSentAsMessage(t *testing.T) {
	fake := webtest.NewFakeHTTP(t,
		userAdded("1", "mesibo-user-token-alice-abcdef"),
		userAdded("2", "mesibo-user-token-bob-abcdef01"),
		webtest.Reply{Status: 503, Body: "busy"},
		webtest.Reply{Status: 200, Body: `{"op":"message","result":true}`})
	e := mesiboEnv(t, fake, "--app-name", "Chatter", "--otp-ip-hourly", "0")
	alice := signInMesibo(t, e, webtest.USPhone, "a")
	alice.ExpectOK(t)
	e.JSON(map[string]any{"op": "getcontacts", "token": alice.String("token"), "phones": "+" + webtest.FRPhone}).ExpectOK(t)
	e.Clock.Advance(time.Minute)
	signInMesibo(t, e, webtest.FRPhone, "b").ExpectOK(t)
	e.FanOut()
	if n := e.Count("SELECT COUNT(*) FROM outbox WHERE kind = 'mesibo_notice' AND channel = 'mesibo' AND recipient = ?", "+"+webtest.USPhone); n != 1 {
		t.Fatalf("%d notices queued for Alice", n)
	}
	e.Server.Worker().RunOnce(context.Background()) // 503: retried later
	e.Clock.Advance(time.Minute)
	e.Server.Worker().RunOnce(context.Background())
	if n := e.Count("SELECT COUNT(*) FROM outbox WHERE kind = 'mesibo_notice' AND state = 'sent' AND attempts = 2"); n != 1 {
		t.Errorf("the notice was not delivered on the second attempt")
	}
	reqs := fake.Requests()
	if len(reqs) != 4 {
		t.Fatalf("%d mesibo calls, want useradd, useradd, message, message", len(reqs))
	}
	var msg struct {
		Op, Token, From, To, Msg string
		Type, Expiry             int
	}
	if err := json.Unmarshal(reqs[3].Body, &msg); err != nil {
		t.Fatalf("message body %s: %v", reqs[3].Body, err)
	}
	if msg.Op != "message" || msg.Token != mesiboAppToken || msg.From != "Chatter" || msg.To != webtest.USPhone || msg.Type != 1 || msg.Expiry != 3600 {
		t.Errorf("message %s", reqs[3].Body)
	}
	var notice map[string]any
	if err := json.Unmarshal([]byte(msg.Msg), &notice); err != nil {
		t.Fatalf("notice %q: %v", msg.Msg, err)
	}
	if notice["subject"] != "%NAME% is on Chatter now" || notice["phone"] != webtest.FRPhone {
		t.Errorf("notice %v", notice)
	}
}
