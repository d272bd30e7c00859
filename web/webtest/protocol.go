package webtest

import (
	"encoding/json"
	"testing"
)

// Numbers the protocol tests sign in with, as apps send them (digits with
// the country code, no '+').
const (
	USPhone = "12015550123" // valid: +1 201 555 01xx
	FRPhone = "33612345678" // valid French mobile
)

// LoginParams is a code request for the phone.
func LoginParams(phone string) map[string]any {
	return map[string]any{"op": "login", "appid": "com.example.app", "phone": phone}
}

// Verify sends the second step of sign-in: the phone's code.
func (e *Env) Verify(phone, code string) *Response {
	p := LoginParams(phone)
	p["otp"] = code
	return e.JSON(p)
}

// WrongCode is a code that is not right.
func WrongCode(right string) string {
	if right == "000000" {
		return "000001"
	}
	return "000000"
}

// SetNotify stores a push token derived from the access token on its session.
func (e *Env) SetNotify(token string) *Response {
	return e.JSON(map[string]any{"op": "setnotify", "token": token, "notifytoken": "push-" + token[:8], "dt": "1", "prod": 1})
}

// NewPeople is a Roster whose IP quota does not get in the way of signing in
// several people from the test's one address, nor its prefix limit of
// signing in several numbers of one test range.
func NewPeople(t testing.TB, args ...string) *Env {
	return New(t, WithArgs(append(peopleArgs(), args...)...))
}

func peopleArgs() []string {
	return []string{"--otp-ip-hourly", "0", "--otp-ip-daily", "0", "--otp-prefix-hourly", "0", "--otp-prefix-daily", "0"}
}

// Contact is one entry of a getcontacts reply, with the protocol's types.
type Contact struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Phone  string `json:"phone"`
	Photo  string `json:"photo"`
	TN     string `json:"tn"`
	GID    string `json:"gid"`
	TS     string `json:"ts"`
}

// ContactsReply is a getcontacts reply.
type ContactsReply struct {
	Result   string    `json:"result"`
	Contacts []Contact `json:"contacts"`
	U        Contact   `json:"u"`
	TS       int64     `json:"ts"`
}

// GetContacts runs getcontacts with the params and expects OK.
func (e *Env) GetContacts(t testing.TB, token string, params map[string]any) ContactsReply {
	t.Helper()
	r := e.op(t, "getcontacts", token, params)
	var out ContactsReply
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatalf("reply: %v: %s", err, r.Body)
	}
	return out
}

// SetProfile runs the profile op with the params and expects OK.
func (e *Env) SetProfile(t testing.TB, token string, params map[string]any) *Response {
	t.Helper()
	return e.op(t, "profile", token, params)
}

func (e *Env) op(t testing.TB, op, token string, params map[string]any) *Response {
	t.Helper()
	p := map[string]any{"op": op, "token": token}
	for k, v := range params {
		p[k] = v
	}
	r := e.JSON(p)
	r.ExpectOK(t)
	return r
}
