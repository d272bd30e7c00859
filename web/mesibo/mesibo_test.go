package mesibo_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"roster/models"
	"roster/web/delivery"
	"roster/web/mesibo"
	"roster/web/webtest"
)

const appToken = "app-token-0123456789abcdef-secret"

func client(f *webtest.FakeMesibo) *mesibo.Client {
	return &mesibo.Client{URL: f.URL, AppToken: appToken, HTTP: &http.Client{Timeout: 300 * time.Millisecond,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		Health: mesibo.NewHealth(nil, time.Now)}
}

func body(t *testing.T, f *webtest.FakeMesibo, i int) string {
	t.Helper()
	rs := f.Requests()
	if len(rs) <= i {
		t.Fatalf("%d requests, want more than %d", len(rs), i)
	}
	return string(rs[i].Body)
}

// useradd as documented (user-management page): the user under "user", the
// token's appid and expiry in minutes under "user.token"; the reply's uid
// and token.
func TestAddUser(t *testing.T) {
	f := webtest.NewFakeMesibo(t, appToken)
	u, err := client(f).AddUser(context.Background(), "12015550123", "Ann", "com.example.app", 525600)
	if err != nil || u.UID != "5301" || u.Token != "fake-mesibo-token-5301-01-com.example.app" {
		t.Fatalf("user %+v, err %v", u, err)
	}
	want := `{"op":"useradd","token":"` + appToken + `","user":{"address":"12015550123","name":"Ann","token":{"appid":"com.example.app","expiry":525600}}}`
	if b := body(t, f, 0); b != want {
		t.Errorf("body %s\nwant %s", b, want)
	}
	// A uid sent as a number is read too.
	f.Script(webtest.Reply{Status: 200, Body: `{"op":"useradd","result":true,"user":{"uid":5302,"token":"8931abcdef0123456789abcdef"}}`})
	if u, err := client(f).AddUser(context.Background(), "1", "", "app", 1); err != nil || u.UID != "5302" {
		t.Errorf("numeric uid: %+v %v", u, err)
	}
}

// useradd without "user.token" creates the user and issues no token.
func TestEnsureUser(t *testing.T) {
	f := webtest.NewFakeMesibo(t, appToken)
	uid, err := client(f).EnsureUser(context.Background(), "Chatter", "Chatter")
	if err != nil || uid != "5301" || f.User("Chatter") == nil || len(f.User("Chatter").Tokens) != 0 {
		t.Fatalf("uid %q err %v user %+v", uid, err, f.User("Chatter"))
	}
	if b := body(t, f, 0); b != `{"op":"useradd","token":"`+appToken+`","user":{"address":"Chatter","name":"Chatter"}}` {
		t.Errorf("body %s", b)
	}
}

// userdel by uid (a JSON number); an unknown user counts as deleted.
func TestDeleteUser(t *testing.T) {
	f := webtest.NewFakeMesibo(t, appToken)
	c := client(f)
	u, _ := c.AddUser(context.Background(), "12015550123", "Ann", "app", 60)
	if err := c.DeleteUser(context.Background(), u.UID); err != nil {
		t.Fatal(err)
	}
	if f.TokenValid(u.Token) || f.User("12015550123") != nil {
		t.Error("the user and its token survived userdel")
	}
	if b := body(t, f, 1); b != `{"op":"userdel","token":"`+appToken+`","user":{"uid":5301}}` {
		t.Errorf("body %s", b)
	}
	if err := c.DeleteUser(context.Background(), u.UID); err != nil {
		t.Errorf("an unknown user counts as deleted: %v", err)
	}
}

// message as documented (messaging page): fields under "message", expiry
// in seconds; the reply's mid.
func TestSend(t *testing.T) {
	f := webtest.NewFakeMesibo(t, appToken)
	c := client(f)
	c.EnsureUser(context.Background(), "Chatter", "Chatter")
	mid, err := c.Send(context.Background(), mesibo.Message{From: "Chatter", To: "33612345678", Type: 1, ExpirySeconds: 3600, Flags: 4, Forced: true, Body: "hi"})
	if err != nil || mid != "1387628" {
		t.Fatalf("mid %q err %v", mid, err)
	}
	want := `{"op":"message","token":"` + appToken + `","message":{"from":"Chatter","to":"33612345678","type":1,"expiry":3600,"flags":4,"forced":true,"message":"hi"}}`
	if b := body(t, f, 1); b != want {
		t.Errorf("body %s\nwant %s", b, want)
	}
}

// Each failure class: what the error says, its kind, and whether mesibo
// mode is marked degraded. The app token never appears in the text.
func TestFailureClasses(t *testing.T) {
	for _, tc := range []struct {
		name     string
		reply    webtest.Reply
		want     string
		kind     mesibo.Kind
		degraded bool
		after    time.Duration
	}{
		{"app token refused", webtest.Reply{Status: 200, Body: `{"op":"useradd","result":false,"error":"AUTHFAIL","cause":"bad app token ` + appToken + `"}`},
			"mesibo useradd: AUTHFAIL (bad app token [app token])", mesibo.Config, true, 0},
		{"bad op", webtest.Reply{Status: 200, Body: `{"op":"useradd","result":false,"error":"BADOP"}`}, "mesibo useradd: BADOP", mesibo.Config, true, 0},
		{"unknown code", webtest.Reply{Status: 200, Body: `{"op":"useradd","result":false,"error":"NEWCODE"}`}, "mesibo useradd: NEWCODE", mesibo.Config, true, 0},
		{"no code", webtest.Reply{Status: 200, Body: `{"op":"useradd","result":false}`}, "mesibo useradd: FAILED", mesibo.Config, true, 0},
		{"unknown user", webtest.Reply{Status: 200, Body: `{"op":"useradd","result":false,"error":"BADUSER"}`}, "mesibo useradd: BADUSER", mesibo.Rejected, false, 0},
		{"not the API (HTML)", webtest.Reply{Status: 200, Body: "<html>maintenance</html>"}, `mesibo useradd: HTTP 200: unreadable reply "<html>maintenance</html>"`, mesibo.Config, true, 0},
		{"no result", webtest.Reply{Status: 200, Body: `{"op":"useradd"}`}, "unreadable reply", mesibo.Config, true, 0},
		{"redirect", webtest.Reply{Status: 301, Body: "", Header: map[string]string{"Location": "https://api.mesibo.com/backend/?x=1"}},
			"mesibo useradd: HTTP 301: redirected to https://api.mesibo.com/backend/; set --mesibo-api-url", mesibo.Config, true, 0},
		{"wrong path", webtest.Reply{Status: 404, Body: "not found"}, `mesibo useradd: HTTP 404: unreadable reply "not found"`, mesibo.Config, true, 0},
		{"server error", webtest.Reply{Status: 503, Body: "upstream down"}, `mesibo useradd: HTTP 503: unreadable reply "upstream down"`, mesibo.Transient, false, 0},
		{"rate limited", webtest.Reply{Status: 429, Body: "slow down", Header: map[string]string{"Retry-After": "7"}}, "mesibo useradd: HTTP 429: rate limited", mesibo.Transient, false, 7 * time.Second},
		{"slow", webtest.Reply{Status: 200, Body: `{"result":true}`, Delay: 3 * time.Second}, "mesibo useradd: no answer in time", mesibo.Transient, false, 0},
		{"no token in reply", webtest.Reply{Status: 200, Body: `{"result":true,"user":{"uid":"1"}}`}, "the reply has no user uid and token", mesibo.Config, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := webtest.NewFakeMesibo(t, appToken)
			f.Script(tc.reply)
			c := client(f)
			_, err := c.AddUser(context.Background(), "1", "", "app", 1)
			var me *mesibo.Error
			if !errors.As(err, &me) || !strings.Contains(err.Error(), tc.want) || me.Kind != tc.kind || me.RetryAfter != tc.after {
				t.Fatalf("error %v (%+v), want %q kind %v after %v", err, me, tc.want, tc.kind, tc.after)
			}
			if strings.Contains(err.Error(), appToken) {
				t.Error("the app token is in the error text")
			}
			if c.Health.Degraded() != tc.degraded {
				t.Errorf("degraded %v (%q), want %v", c.Health.Degraded(), c.Health.Summary(), tc.degraded)
			}
			// The next call works: the op is healthy again.
			if _, err := c.AddUser(context.Background(), "1", "", "app", 1); err != nil || c.Health.Degraded() {
				t.Errorf("after a success: %v, degraded %v", err, c.Health.Degraded())
			}
		})
	}
}

// The fake answers AUTHFAIL to another app token, as mesibo does.
func TestWrongAppTokenDegrades(t *testing.T) {
	f := webtest.NewFakeMesibo(t, "the-right-app-token-0123456789")
	c := client(f)
	_, err := c.AddUser(context.Background(), "1", "", "app", 1)
	if err == nil || err.Error() != "mesibo useradd: AUTHFAIL (invalid app token)" || !c.Health.Degraded() {
		t.Fatalf("err %v degraded %v", err, c.Health.Degraded())
	}
	if p := c.Health.Problems(); len(p) != 1 || p[0].Op != "useradd" || c.Health.Summary() != "mesibo useradd: AUTHFAIL (invalid app token)" {
		t.Errorf("problems %+v", p)
	}
}

func job(t *testing.T, j models.MesiboJob) delivery.Message {
	b, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	return delivery.Message{ID: 1, Body: string(b)}
}

// The contact notice of protocol.md: the sender is created at mesibo once
// (useradd without a token), then each notice is a transient message
// (flags 4) with a one-hour expiry, forced.
func TestJobSenderNotice(t *testing.T) {
	f := webtest.NewFakeMesibo(t, appToken)
	s := mesibo.NewJobSender(client(f), "chatter-notices", "Chatter", nil)
	notice := `{"subject":"%NAME% is on Chatter now","msg":"Hey","type":0,"action":0,"name":"Ann","gid":0,"phone":"12015550123","status":"","photo":"","ts":1772445600,"tn":""}`
	m := job(t, models.MesiboJob{Op: models.MesiboJobMessage, Address: "33612345678", Msg: notice})
	for range 2 {
		if rc, err := s.Send(context.Background(), m); err != nil || rc.HTTPStatus != 200 {
			t.Fatalf("%+v %v", rc, err)
		}
	}
	if ops := f.Ops(); strings.Join(ops, ",") != "useradd,message,message" {
		t.Fatalf("ops %v", ops)
	}
	if b := body(t, f, 0); b != `{"op":"useradd","token":"`+appToken+`","user":{"address":"chatter-notices","name":"Chatter"}}` {
		t.Errorf("sender body %s", b)
	}
	var got struct {
		Op      string
		Message map[string]any
	}
	json.Unmarshal([]byte(body(t, f, 1)), &got)
	want := map[string]any{"from": "chatter-notices", "to": "33612345678", "type": 1.0, "expiry": 3600.0, "flags": 4.0, "forced": true, "message": notice}
	if b1, b2 := mustJSON(got.Message), mustJSON(want); b1 != b2 {
		t.Errorf("message %s\nwant %s", b1, b2)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// How each failure reaches the outbox: held for the operator, retried when
// the provider says, retried with backoff, or final.
func TestJobSenderFailures(t *testing.T) {
	del := models.MesiboJob{Op: models.MesiboJobUserDel, UID: "5302"}
	for _, tc := range []struct {
		name  string
		reply webtest.Reply
		check func(error) bool
	}{
		{"app token refused: held", webtest.Reply{Status: 200, Body: `{"result":false,"error":"AUTHFAIL"}`}, func(err error) bool {
			var l *delivery.RetryLaterError
			return errors.As(err, &l) && l.Hold
		}},
		{"bad op: held", webtest.Reply{Status: 200, Body: `{"result":false,"error":"BADOP"}`}, func(err error) bool {
			var l *delivery.RetryLaterError
			return errors.As(err, &l) && l.Hold
		}},
		{"429: after Retry-After", webtest.Reply{Status: 429, Header: map[string]string{"Retry-After": "30"}}, func(err error) bool {
			var l *delivery.RetryLaterError
			return errors.As(err, &l) && !l.Hold && l.After == 30*time.Second
		}},
		{"5xx: backoff", webtest.Reply{Status: 502, Body: "bad gateway"}, func(err error) bool {
			var l *delivery.RetryLaterError
			var p *delivery.PermanentError
			return err != nil && !errors.As(err, &l) && !errors.As(err, &p)
		}},
		{"unknown user: done", webtest.Reply{Status: 200, Body: `{"result":false,"error":"NOUSER"}`}, func(err error) bool { return err == nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := webtest.NewFakeMesibo(t, appToken)
			f.Script(tc.reply)
			_, err := mesibo.NewJobSender(client(f), "n", "n", nil).Send(context.Background(), job(t, del))
			if !tc.check(err) {
				t.Errorf("err %v (%T)", err, err)
			}
		})
	}
	// Jobs an older version queued (deltoken, deluser) run as userdel; an
	// unreadable job is final.
	f := webtest.NewFakeMesibo(t, appToken)
	s := mesibo.NewJobSender(client(f), "n", "n", nil)
	for _, b := range []string{`{"op":"deltoken","uid":"5302","token_sealed":"c2VhbGVk"}`, `{"op":"deluser","uid":"5302","address":"12015550123"}`} {
		if _, err := s.Send(context.Background(), delivery.Message{Body: b}); err != nil {
			t.Errorf("%s: %v", b, err)
		}
	}
	if ops := f.Ops(); strings.Join(ops, ",") != "userdel,userdel" || body(t, f, 0) != `{"op":"userdel","token":"`+appToken+`","user":{"uid":5302}}` {
		t.Errorf("ops %v, body %s", ops, body(t, f, 0))
	}
	var perm *delivery.PermanentError
	if _, err := s.Send(context.Background(), delivery.Message{Body: "nonsense"}); !errors.As(err, &perm) {
		t.Errorf("bad job: %v", err)
	}
}

// A notice refused because a user is unknown is retried, and the sender is
// created again first (it may have been deleted at mesibo).
func TestJobSenderRecreatesSender(t *testing.T) {
	f := webtest.NewFakeMesibo(t, appToken)
	s := mesibo.NewJobSender(client(f), "n", "n", nil)
	m := job(t, models.MesiboJob{Op: models.MesiboJobMessage, Address: "1", Msg: "{}"})
	if _, err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	f.Script(webtest.Reply{Status: 200, Body: `{"op":"message","result":false,"error":"NOUSER"}`})
	var perm *delivery.PermanentError
	if _, err := s.Send(context.Background(), m); err == nil || errors.As(err, &perm) {
		t.Fatalf("refused notice: %v", err)
	}
	if _, err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if ops := strings.Join(f.Ops(), ","); ops != "useradd,message,message,useradd,message" {
		t.Errorf("ops %s", ops)
	}
}
