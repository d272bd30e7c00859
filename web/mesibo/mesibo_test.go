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

func client(f *webtest.FakeHTTP) *mesibo.Client {
	return &mesibo.Client{URL: f.URL + "/api.php", AppToken: appToken, HTTP: &http.Client{Timeout: 300 * time.Millisecond}}
}

// decode reads a received JSON body, numbers kept as text.
func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("body %s: %v", b, err)
	}
	return m
}

func checkPost(t *testing.T, r webtest.Received) {
	t.Helper()
	if r.Method != http.MethodPost || r.Path != "/api.php" || r.Query != "" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %s?%s %q", r.Method, r.Path, r.Query, r.Header.Get("Content-Type"))
	}
}

func TestAddUser(t *testing.T) {
	f := webtest.NewFakeHTTP(t, webtest.Reply{Status: 200, Body: `{"op":"useradd","result":true,"user":{"uid":5302,"token":"8931abcdef0123456789abcdef"}}`})
	u, err := client(f).AddUser(context.Background(), "12015550123", "Ann", "com.example.app", 525600)
	if err != nil || u.UID != "5302" || u.Token != "8931abcdef0123456789abcdef" {
		t.Fatalf("user %+v, err %v", u, err)
	}
	r := f.Requests()[0]
	checkPost(t, r)
	got := decode(t, r.Body)
	want := `{"op":"useradd","token":"` + appToken + `","user":{"address":"12015550123","name":"Ann","token":{"appid":"com.example.app","expiry":525600}}}`
	if b, _ := json.Marshal(got); string(b) != want {
		t.Errorf("body %s\nwant %s", b, want)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		reply     webtest.Reply
		want      string
		transient bool
	}{
		{"refused", webtest.Reply{Status: 200, Body: `{"op":"useradd","result":false,"error":"AUTHFAIL","cause":"bad app token ` + appToken + `"}`},
			"mesibo useradd: AUTHFAIL (bad app token [app token])", false},
		{"garbage", webtest.Reply{Status: 200, Body: "<html>maintenance</html>"}, `mesibo useradd: HTTP 200: unreadable reply "<html>maintenance</html>"`, false},
		{"server error", webtest.Reply{Status: 503, Body: "upstream down"}, `mesibo useradd: HTTP 503: unreadable reply "upstream down"`, true},
		{"no result", webtest.Reply{Status: 200, Body: `{"op":"useradd"}`}, "unreadable reply", false},
		{"no token", webtest.Reply{Status: 200, Body: `{"result":true,"user":{"uid":"1"}}`}, "the reply has no user uid and token", false},
		{"slow", webtest.Reply{Status: 200, Body: `{"result":true}`, Delay: 3 * time.Second}, "mesibo useradd: no answer in time", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := webtest.NewFakeHTTP(t, tc.reply)
			_, err := client(f).AddUser(context.Background(), "1", "", "app", 1)
			var me *mesibo.Error
			if !errors.As(err, &me) || !strings.Contains(err.Error(), tc.want) || me.Transient != tc.transient {
				t.Fatalf("error %v (transient %v), want %q (transient %v)", err, me != nil && me.Transient, tc.want, tc.transient)
			}
			if strings.Contains(err.Error(), appToken) {
				t.Error("the app token is in the error text")
			}
		})
	}
}

func TestDeleteTokenAndUser(t *testing.T) {
	f := webtest.NewFakeHTTP(t, webtest.Reply{Status: 200, Body: `{"result":true}`},
		webtest.Reply{Status: 200, Body: `{"result":false,"error":"NOUSER"}`})
	c := client(f)
	if err := c.DeleteToken(context.Background(), "5302", "user-token-1234567890"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteUser(context.Background(), "5302", "12015550123"); err != nil {
		t.Fatalf("an unknown user counts as deleted: %v", err)
	}
	rs := f.Requests()
	if b := string(rs[0].Body); b != `{"op":"deltoken","token":"`+appToken+`","user":{"token":"user-token-1234567890","uid":"5302"}}` {
		t.Errorf("deltoken body %s", b)
	}
	if b := string(rs[1].Body); b != `{"op":"deluser","token":"`+appToken+`","user":{"address":"12015550123","uid":"5302"}}` {
		t.Errorf("deluser body %s", b)
	}
}

// The contact notice of protocol.md, sent as a transient mesibo message
// from the outbox job the fan-out wrote.
func TestJobSenderMessage(t *testing.T) {
	f := webtest.NewFakeHTTP(t, webtest.Reply{Status: 200, Body: `{"op":"message","result":true}`})
	s := mesibo.JobSender{Client: client(f), From: "roster"}
	notice := `{"subject":"%NAME% is on Chatty now","msg":"Hey","type":0,"action":0,"name":"Ann","gid":0,"phone":"12015550123","status":"","photo":"","ts":1772445600,"tn":""}`
	job, _ := json.Marshal(models.MesiboJob{Op: "message", Address: "33612345678", Msg: notice})
	if _, err := s.Send(context.Background(), delivery.Message{ID: 1, Body: string(job)}); err != nil {
		t.Fatal(err)
	}
	r := f.Requests()[0]
	checkPost(t, r)
	got := decode(t, r.Body)
	if len(got) != 8 || got["op"] != "message" || got["token"] != appToken || got["from"] != "roster" || got["to"] != "33612345678" ||
		got["type"] != json.Number("1") || got["expiry"] != json.Number("3600") || got["flag"] != json.Number("0") || got["msg"] != notice {
		t.Errorf("body %v", got)
	}
	f.Script(webtest.Reply{Status: 200, Body: `{"result":false,"error":"BADUSER","cause":"no such user"}`})
	var perm *delivery.PermanentError
	if _, err := s.Send(context.Background(), delivery.Message{ID: 2, Body: string(job)}); !errors.As(err, &perm) || err.Error() != "mesibo message: BADUSER (no such user)" {
		t.Errorf("failure: %v", err)
	}
}

func TestJobSenderDeleteUser(t *testing.T) {
	f := webtest.NewFakeHTTP(t, webtest.Reply{Status: 200, Body: `{"result":true}`}, webtest.Reply{Status: 500, Body: "down"})
	s := mesibo.JobSender{Client: client(f), SealKey: []byte("key")}
	m := delivery.Message{ID: 1, Body: `{"op":"deluser","uid":"5302","address":"12015550123"}`}
	if rc, err := s.Send(context.Background(), m); err != nil || rc.HTTPStatus != 200 {
		t.Fatalf("deluser: %+v %v", rc, err)
	}
	if b := string(f.Requests()[0].Body); b != `{"op":"deluser","token":"`+appToken+`","user":{"address":"12015550123","uid":"5302"}}` {
		t.Errorf("body %s", b)
	}
	// A 5xx is retried (not permanent); an unreadable job is permanent.
	_, err := s.Send(context.Background(), m)
	var perm *delivery.PermanentError
	if err == nil || errors.As(err, &perm) {
		t.Errorf("5xx: %v", err)
	}
	if _, err := s.Send(context.Background(), delivery.Message{Body: "nonsense"}); !errors.As(err, &perm) {
		t.Errorf("bad job: %v", err)
	}
}
