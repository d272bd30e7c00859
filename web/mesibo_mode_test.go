// mesibo mode against the fake mesibo (webtest.FakeMesibo, which checks each
// request's documented JSON form): sign-in, revocation, block and delete,
// 429, and join notices (the degraded state: mesibo_degraded_test.go). One room
// because every test shares the fake's setup and the job runner below.

package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"roster/web"
	"roster/web/webtest"
)

const mesiboAppToken = "mesibo-app-token-abcdef0123456789"

func mesiboArgs(fake *webtest.FakeMesibo, extra ...string) []string {
	return append([]string{"--token-issuer", "mesibo", "--mesibo-api-url", fake.URL, "--mesibo-timeout", "300ms"}, extra...)
}

func mesiboEnv(t *testing.T, fake *webtest.FakeMesibo, extra ...string) *webtest.Env {
	t.Helper()
	return deliveryEnv(t, map[string]string{"ROSTER_MESIBO_APP_TOKEN": mesiboAppToken}, mesiboArgs(fake, extra...)...)
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

func runJobs(e *webtest.Env) { e.Server.Worker().RunOnce(context.Background()) }

func TestMesiboSignIn(t *testing.T) {
	fake := webtest.NewFakeMesibo(t, mesiboAppToken)
	e := mesiboEnv(t, fake)
	r := signInMesibo(t, e, webtest.USPhone, "phone-a")
	r.ExpectOK(t)
	tok := r.String("token")
	if tok != "fake-mesibo-token-5301-01-com.example.app" || r.String("uid") != "5301" || r.String("phone") != webtest.USPhone || !fake.TokenValid(tok) {
		t.Fatalf("reply %s", r.Body)
	}
	reqs := fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d mesibo calls", len(reqs))
	}
	if reqs[0].Method != http.MethodPost || reqs[0].Path != "/backend/" || reqs[0].Query != "" {
		t.Errorf("request %s %s?%s", reqs[0].Method, reqs[0].Path, reqs[0].Query)
	}
	want := `{"op":"useradd","token":"` + mesiboAppToken + `","user":{"address":"` + webtest.USPhone + `","name":"Ann","token":{"appid":"com.example.app","expiry":525600}}}`
	if string(reqs[0].Body) != want {
		t.Errorf("useradd body %s\nwant %s", reqs[0].Body, want)
	}
	// Roster's own ops accept the mesibo token.
	e.SetNotify(tok).ExpectOK(t)
	if n := e.Count("SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.mesibo_uid = '5301' AND u.mesibo_uid = '5301' AND s.mesibo_token_sealed IS NULL"); n != 1 {
		t.Error("the mesibo uid was not stored, or the token was")
	}
	if strings.Contains(e.Logs(), mesiboAppToken) || strings.Contains(e.Logs(), "fake-mesibo-token") {
		t.Error("a token reached the log")
	}
	if strings.Contains(string(r.Body), mesiboAppToken) {
		t.Error("the app token is in the reply")
	}
}

// A deployment whose sessions hold sealed mesibo tokens, with a check value
// recorded for the key that sealed them, starts without that key (lost, or
// another one in the environment), and revoking such a session still
// deletes its user at mesibo: nothing needs the sealed tokens.
func TestMesiboStartsWithoutTheSealKey(t *testing.T) {
	fake := webtest.NewFakeMesibo(t, mesiboAppToken)
	e := mesiboEnv(t, fake)
	r := signInMesibo(t, e, webtest.USPhone, "phone-a")
	r.ExpectOK(t)
	tok := r.String("token")
	write := e.Server.DB().Write
	if err := write.Exec("UPDATE sessions SET mesibo_token_sealed = ? WHERE mesibo_uid = '5301'", []byte("a token sealed under a lost key")).Error; err != nil {
		t.Fatal(err)
	}
	if err := write.Exec("INSERT INTO secret_checks (name, check_value, recorded_at) VALUES ('mesibo-seal', ?, 0) ON CONFLICT (name) DO NOTHING",
		[]byte("the check value of the lost key")).Error; err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(e.DataDir, "secrets", "mesibo-seal.key"))
	dir := e.DataDir
	for _, sealKey := range []string{"", strings.Repeat("s", 40)} {
		env := map[string]string{web.EnvMesiboAppToken: mesiboAppToken, "ROSTER_MESIBO_SEAL_KEY": sealKey}
		e = webtest.New(t, webtest.WithArgs(mesiboArgs(fake)...), both(webtest.SameDatabase(e), envOption(env)))
		e.DataDir = dir
		e.SetNotify(tok).ExpectOK(t)
	}
	e.JSON(map[string]any{"op": "logout", "token": tok}).ExpectOK(t)
	runJobs(e)
	if fake.TokenValid(tok) {
		t.Error("the revoked session's token is still valid at mesibo")
	}
}

func TestMesiboFailureKeepsCodeValid(t *testing.T) {
	fake := webtest.NewFakeMesibo(t, mesiboAppToken)
	fake.Script(webtest.Reply{Status: 200, Body: `{"op":"useradd","result":false,"error":"AUTHFAIL","cause":"invalid app token"}`})
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
	r = e.Verify(webtest.FRPhone, code)
	r.ExpectOK(t)
	if !fake.TokenValid(r.String("token")) {
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

// mesibo documents no op that deletes one token: a logout invalidates all
// of the user's tokens with userdel (retried after a 502), so the other
// device's token dies too; that device signs in again and gets a new mesibo
// user, whose uid Roster stores.
func TestMesiboRevocationOnLogout(t *testing.T) {
	fake := webtest.NewFakeMesibo(t, mesiboAppToken)
	e := mesiboEnv(t, fake)
	phone := signInMesibo(t, e, webtest.USPhone, "phone-a").String("token")
	e.Clock.Advance(time.Minute)
	tablet := signInMesibo(t, e, webtest.USPhone, "tablet-b").String("token")
	if !fake.TokenValid(phone) || !fake.TokenValid(tablet) {
		t.Fatal("tokens not issued")
	}

	e.JSON(map[string]any{"op": "logout", "token": phone}).ExpectOK(t)
	e.SetNotify(phone).ExpectFail(t, "AUTHFAIL")
	fake.Script(webtest.Reply{Status: 502, Body: "bad gateway"})
	runJobs(e)
	e.Clock.Advance(10 * time.Second)
	runJobs(e)
	if ops := strings.Join(fake.Ops(), ","); ops != "useradd,useradd,userdel,userdel" {
		t.Fatalf("ops %s", ops)
	}
	want := `{"op":"userdel","token":"` + mesiboAppToken + `","user":{"uid":5301}}`
	if reqs := fake.Requests(); string(reqs[3].Body) != want {
		t.Errorf("userdel body %s\nwant %s", reqs[3].Body, want)
	}
	if fake.TokenValid(phone) || fake.TokenValid(tablet) {
		t.Error("a token is still valid at mesibo")
	}
	row := lastOutbox(t, e)
	if row.State != "sent" || row.Channel != "mesibo" || row.Attempts != 2 || strings.Contains(row.Body, "token") {
		t.Errorf("job %+v", row)
	}
	if as := attempts(t, e); len(as) != 2 || as[0].HTTPStatus != 502 || as[0].Status != "retry" || as[1].Status != "sent" {
		t.Errorf("attempts %+v", as)
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'mesibo_revoked'"); n != 1 {
		t.Errorf("%d mesibo_revoked entries", n)
	}

	// The tablet signs in again: a new mesibo user, stored; no job (its old
	// session was replaced on the same device).
	e.Clock.Advance(time.Minute)
	r := signInMesibo(t, e, webtest.USPhone, "tablet-b")
	r.ExpectOK(t)
	if r.String("uid") != "5302" || e.Count("SELECT COUNT(*) FROM users WHERE mesibo_uid = '5302'") != 1 || !fake.TokenValid(r.String("token")) {
		t.Errorf("re-sign-in %s", r.Body)
	}
	if n := e.Count("SELECT COUNT(*) FROM outbox WHERE channel = 'mesibo' AND state = 'pending'"); n != 0 {
		t.Errorf("%d jobs queued by the re-sign-in", n)
	}
}

// Signing in again on the same device replaces the session without
// revoking at mesibo: that would kill the token just handed out.
func TestMesiboReplacedDeviceKeepsNewToken(t *testing.T) {
	fake := webtest.NewFakeMesibo(t, mesiboAppToken)
	e := mesiboEnv(t, fake)
	first := signInMesibo(t, e, webtest.USPhone, "phone-a").String("token")
	e.Clock.Advance(time.Minute)
	second := signInMesibo(t, e, webtest.USPhone, "phone-a").String("token")
	e.SetNotify(first).ExpectFail(t, "AUTHFAIL")
	e.SetNotify(second).ExpectOK(t)
	runJobs(e)
	if ops := strings.Join(fake.Ops(), ","); ops != "useradd,useradd" || !fake.TokenValid(second) {
		t.Errorf("ops %s, second token valid %v", ops, fake.TokenValid(second))
	}
}

// Blocking revokes every session: one userdel for the user. Deleting the
// account afterwards queues userdel again; mesibo no longer knows the user,
// which counts as done.
func TestMesiboBlockAndDelete(t *testing.T) {
	fake := webtest.NewFakeMesibo(t, mesiboAppToken)
	e := mesiboEnv(t, fake)
	signInMesibo(t, e, webtest.USPhone, "a").ExpectOK(t)
	e.Clock.Advance(time.Minute)
	signInMesibo(t, e, webtest.USPhone, "b").ExpectOK(t)
	var id string
	e.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM users").Scan(&id)
	a := e.AdminLogin("alice", "owner")
	expectIn(t, a.Post("/admin/users/"+id+"/block", map[string]string{"password": webtest.AdminPassword}), "User blocked; 2 sessions revoked.")
	if n := e.Count("SELECT COUNT(*) FROM outbox WHERE channel = 'mesibo'"); n != 1 {
		t.Errorf("%d jobs for one mesibo user", n)
	}
	runJobs(e)
	a.Post("/admin/users/"+id+"/delete", map[string]string{"password": webtest.AdminPassword, "confirm": "+" + webtest.USPhone})
	runJobs(e)
	if ops := strings.Join(fake.Ops(), ","); ops != "useradd,useradd,userdel,userdel" {
		t.Errorf("ops %s", ops)
	}
	if n := e.Count("SELECT COUNT(*) FROM outbox WHERE channel = 'mesibo' AND state = 'sent'"); n != 2 {
		t.Errorf("%d jobs sent, want 2", n)
	}
}

// A 429 is retried after its Retry-After, not the shorter backoff.
func TestMesiboRateLimitHonoursRetryAfter(t *testing.T) {
	fake := webtest.NewFakeMesibo(t, mesiboAppToken)
	e := mesiboEnv(t, fake)
	tok := signInMesibo(t, e, webtest.USPhone, "a").String("token")
	e.JSON(map[string]any{"op": "logout", "token": tok}).ExpectOK(t)
	fake.Script(webtest.Reply{Status: 429, Body: "slow down", Header: map[string]string{"Retry-After": "120"}})
	runJobs(e)
	e.Clock.Advance(100 * time.Second) // past the 2-10 s backoff, before Retry-After
	runJobs(e)
	if row := lastOutbox(t, e); row.State != "pending" || row.Attempts != 1 {
		t.Fatalf("retried before Retry-After: %+v", row)
	}
	e.Clock.Advance(21 * time.Second)
	runJobs(e)
	if row := lastOutbox(t, e); row.State != "sent" || row.Attempts != 2 {
		t.Errorf("job %+v", row)
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
	if cfg.Delivery.MesiboAPIURL != "https://api.mesibo.com/backend/" {
		t.Errorf("default API URL %q", cfg.Delivery.MesiboAPIURL)
	}
	if _, err := web.New(context.Background(), cfg, discardLog(), web.Options{Getenv: func(string) string { return "" }}); err == nil ||
		!strings.Contains(err.Error(), "ROSTER_MESIBO_APP_TOKEN") {
		t.Errorf("start without the app token: %v", err)
	}
}

// Revocations outlast a mesibo outage longer than codes are retried.
func TestMesiboRevocationRetriedLongerThanCodes(t *testing.T) {
	fake := webtest.NewFakeMesibo(t, mesiboAppToken)
	worker := testWorker
	worker.JobMaxAttempts = 6
	e := webtest.New(t, webtest.WithArgs(mesiboArgs(fake)...),
		webtest.WithOptions(func(o *web.Options) {
			o.Getenv = func(k string) string { return map[string]string{"ROSTER_MESIBO_APP_TOKEN": mesiboAppToken}[k] }
			o.Worker = worker
		}))
	tok := signInMesibo(t, e, webtest.USPhone, "d").String("token")
	fake.Script(webtest.Reply{Status: 503, Body: "down"}, webtest.Reply{Status: 503, Body: "down"}, webtest.Reply{Status: 503, Body: "down"},
		webtest.Reply{Status: 503, Body: "down"}, webtest.Reply{Status: 503, Body: "down"}, webtest.Reply{Status: 503, Body: "down"})
	e.JSON(map[string]any{"op": "logout", "token": tok}).ExpectOK(t)
	for i := 0; i < 5; i++ {
		runJobs(e)
		e.Clock.Advance(time.Minute)
	}
	if row := lastOutbox(t, e); row.State != "pending" || row.Attempts != 5 {
		t.Fatalf("after 5 tries: %+v", row)
	}
	runJobs(e)
	if row := lastOutbox(t, e); row.State != "failed" || row.Attempts != 6 || row.LastError != `mesibo userdel: HTTP 503: unreadable reply "down"` {
		t.Fatalf("after 6 tries: %+v", row)
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'mesibo_revoke_failed'"); n != 1 {
		t.Error("no audit entry for the failed revocation")
	}
}

// mesibo may hand out a token it gave before: the sign-in still works, one
// live session holds the token, and nothing is deleted at mesibo.
func TestMesiboSameTokenAgain(t *testing.T) {
	fake := webtest.NewFakeMesibo(t, mesiboAppToken)
	fake.Script(userAdded("5302", "mesibo-user-token-same-abcdef"), userAdded("5302", "mesibo-user-token-same-abcdef"))
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
// message with the protocol's JSON body: the fan-out queues it in the
// outbox; the sender creates the notices' sender user at mesibo first, and
// retries a failure.
func TestMesiboJoinNoticeIsSentAsMessage(t *testing.T) {
	fake := webtest.NewFakeMesibo(t, mesiboAppToken)
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
	fake.Script(webtest.Reply{Status: 503, Body: "busy"})
	runJobs(e) // the sender's useradd gets a 503: retried later
	e.Clock.Advance(time.Minute)
	runJobs(e)
	if n := e.Count("SELECT COUNT(*) FROM outbox WHERE kind = 'mesibo_notice' AND state = 'sent' AND attempts = 2"); n != 1 {
		t.Errorf("the notice was not delivered on the second attempt")
	}
	if ops := strings.Join(fake.Ops(), ","); ops != "useradd,useradd,useradd,useradd,message" {
		t.Fatalf("ops %s", ops)
	}
	reqs := fake.Requests()
	if string(reqs[3].Body) != `{"op":"useradd","token":"`+mesiboAppToken+`","user":{"address":"Chatter","name":"Chatter"}}` || fake.User("Chatter") == nil {
		t.Errorf("sender useradd %s", reqs[3].Body)
	}
	var msg struct {
		Op, Token string
		Message   struct {
			From, To, Message   string
			Type, Expiry, Flags int
			Forced              bool
		}
	}
	if err := json.Unmarshal(reqs[4].Body, &msg); err != nil {
		t.Fatalf("message body %s: %v", reqs[4].Body, err)
	}
	m := msg.Message
	if msg.Op != "message" || msg.Token != mesiboAppToken || m.From != "Chatter" || m.To != webtest.USPhone || m.Type != 1 || m.Expiry != 3600 || m.Flags != 4 || !m.Forced {
		t.Errorf("message %s", reqs[4].Body)
	}
	var notice map[string]any
	if err := json.Unmarshal([]byte(m.Message), &notice); err != nil {
		t.Fatalf("notice %q: %v", m.Message, err)
	}
	if notice["subject"] != "%NAME% is on Chatter now" || notice["phone"] != webtest.FRPhone {
		t.Errorf("notice %v", notice)
	}
}
