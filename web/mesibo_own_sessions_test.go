package web_test

import (
	"strings"
	"testing"
	"time"

	"roster/web/webtest"
)

// In mesibo mode, a device ended with `endsession` is revoked at mesibo as
// a logout is: its user is deleted there (mesibo has no op for one token).
func TestMesiboEndSession(t *testing.T) {
	fake := webtest.NewFakeMesibo(t, mesiboAppToken)
	e := mesiboEnv(t, fake)
	phone := signInMesibo(t, e, webtest.USPhone, "phone-a").String("token")
	e.Clock.Advance(time.Minute)
	tablet := signInMesibo(t, e, webtest.USPhone, "tablet-b").String("token")
	var tabletID int64
	e.Server.DB().Read.Raw("SELECT id FROM sessions WHERE device = 'tablet-b'").Scan(&tabletID)

	r := e.JSON(map[string]any{"op": "endsession", "token": phone, "id": tabletID})
	r.ExpectOK(t)
	if r.String("ended") != "1" {
		t.Fatalf("reply %s", r.Body)
	}
	e.SetNotify(tablet).ExpectFail(t, "AUTHFAIL")
	runJobs(e)
	if ops := strings.Join(fake.Ops(), ","); ops != "useradd,useradd,userdel" {
		t.Errorf("ops %s", ops)
	}
	if fake.TokenValid(tablet) {
		t.Error("the ended session's token is still valid at mesibo")
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'mesibo_revoked'"); n != 1 {
		t.Errorf("%d mesibo_revoked entries", n)
	}
}

// In mesibo mode a change of number is refused at both steps, before any
// code is sent: mesibo knows the user by number.
func TestMesiboChangePhoneRefused(t *testing.T) {
	fake := webtest.NewFakeMesibo(t, mesiboAppToken)
	e := mesiboEnv(t, fake)
	tok := signInMesibo(t, e, webtest.USPhone, "phone-a").String("token")
	outbox := e.Count("SELECT COUNT(*) FROM outbox")
	e.JSON(map[string]any{"op": "changephone", "token": tok, "phone": "12015550106"}).ExpectFail(t, "BADOP")
	e.JSON(map[string]any{"op": "changephone", "token": tok, "phone": "12015550106", "otp": "123456"}).ExpectFail(t, "BADOP")
	if n := e.Count("SELECT COUNT(*) FROM outbox"); n != outbox {
		t.Errorf("%d messages queued", n-outbox)
	}
	if n := e.Count("SELECT COUNT(*) FROM users WHERE phone = ?", "+"+webtest.USPhone); n != 1 {
		t.Error("the number changed")
	}
}
