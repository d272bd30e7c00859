package handlers_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"roster/web/webtest"
)

// testNumber is a fictional number configured with a fixed code in the
// scenarios that need one.
const (
	testNumber     = "15550100999"
	testNumberCode = "12345678"
)

// codeRule is a state of the number a code is asked for, and what the
// request then answers: the same for login's first step and for
// changephone's.
type codeRule struct {
	name  string
	args  []string                           // the server's flags, besides the network quotas' 0
	phone string                             // the number asked for (default aliceNewPhone)
	appid string                             // default test.app; "-": none
	state func(t testing.TB, e *webtest.Env) // brings the number into the state, through login
	want  map[string]any
	// after checks what the answer left (op: the op asked with, token:
	// alice's, for changephone's second step).
	after func(t testing.TB, e *webtest.Env, op, token string)
}

// askLogin asks a code for digits through login's first step.
func askLogin(t testing.TB, e *webtest.Env, digits string) *webtest.Response {
	t.Helper()
	return e.JSON(map[string]any{"op": "login", "appid": "test.app", "phone": digits})
}

// changephone's first step asks for a code for the new number with every
// rule of a sign-in's: in each state of the number below, in identical
// servers (alice signed in to both), changephone answers what login's code
// request answers, field for field, and leaves the same trace.
func TestChangePhoneAsksAsLoginDoes(t *testing.T) {
	rules := []codeRule{
		{name: "the number's hourly quota is spent",
			state: func(t testing.TB, e *webtest.Env) {
				for range 5 {
					askLogin(t, e, aliceNewPhone).ExpectOK(t)
					e.Clock.Advance(31 * time.Second)
				}
			},
			// The oldest of the five leaves the hour 3600 - 5*31 s from now.
			want: map[string]any{"result": "FAIL", "error": "RATELIMIT", "retry_after": 3600 - 5*31},
			after: func(t testing.TB, e *webtest.Env, _, _ string) {
				if n := e.Count("SELECT COUNT(*) FROM otp_codes WHERE phone = ?", "+"+aliceNewPhone); n != 5 {
					t.Errorf("%d codes for the number, want the 5 of the quota", n)
				}
				if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'code_rate_limited' AND phone = ?", "+"+aliceNewPhone); n != 1 {
					t.Errorf("%d code_rate_limited entries", n)
				}
			}},
		{name: "a code was asked 10 s ago",
			state: func(t testing.TB, e *webtest.Env) {
				askLogin(t, e, aliceNewPhone).ExpectOK(t)
				e.Clock.Advance(10 * time.Second)
			},
			want: map[string]any{"result": "FAIL", "error": "RATELIMIT", "retry_after": 20}},
		{name: "the number is locked",
			state: func(t testing.TB, e *webtest.Env) {
				// Ten wrong codes in a row lock it, over three codes (a code
				// takes four tries).
				var wrong string
				for i := range 10 {
					if i%4 == 0 {
						e.Clock.Advance(31 * time.Second)
						askLogin(t, e, aliceNewPhone).ExpectOK(t)
						wrong = webtest.WrongCode(e.LastCode("+" + aliceNewPhone))
					}
					r := e.JSON(map[string]any{"op": "login", "appid": "test.app", "phone": aliceNewPhone, "otp": wrong})
					if i == 9 {
						r.ExpectFail(t, "LOCKED")
					}
				}
				e.Clock.Advance(time.Minute)
			},
			want: map[string]any{"result": "FAIL", "error": "LOCKED", "retry_after": 3600 - 60},
			after: func(t testing.TB, e *webtest.Env, _, _ string) {
				if n := e.Count("SELECT COUNT(*) FROM otp_codes WHERE phone = ?", "+"+aliceNewPhone); n != 3 {
					t.Errorf("%d codes for the locked number, want the 3 before the lock", n)
				}
			}},
		{name: "a configured test number, asked for past every quota",
			args: []string{"--test-numbers", "+1 555 010 0999:" + testNumberCode}, phone: testNumber,
			state: func(t testing.TB, e *webtest.Env) {
				for range 6 {
					askLogin(t, e, testNumber).ExpectOK(t)
				}
			},
			want: map[string]any{"result": "OK"},
			after: func(t testing.TB, e *webtest.Env, op, token string) {
				if n := e.Count("SELECT COUNT(*) FROM outbox WHERE recipient = ?", "+"+testNumber); n != 0 {
					t.Errorf("%d messages queued for a test number", n)
				}
				if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'code_requested' AND phone = ? AND detail = 'test number: fixed code, nothing sent'",
					"+"+testNumber); n != 1 {
					t.Errorf("%d audit rows of the test number's requests, want 1 (repeats counted on it)", n)
				}
				// The fixed code is the second step's, for either op.
				r := e.JSON(map[string]any{"op": op, "appid": "test.app", "token": token, "phone": testNumber, "otp": testNumberCode})
				r.ExpectOK(t)
				if r.String("phone") != testNumber {
					t.Errorf("%s with the fixed code: %s", op, r.Body)
				}
			}},
		{name: "a fictional number that is no test number",
			args: []string{"--test-numbers", "+1 555 010 0999:" + testNumberCode}, phone: "15550100998",
			want: map[string]any{"result": "FAIL", "error": "BADPHONE"}},
		{name: "an app outside --app-ids",
			args: []string{"--app-ids", "test.app"}, appid: "other.app",
			want: map[string]any{"result": "FAIL", "error": "BADAPPID"}},
		{name: "no appid", appid: "-",
			want: map[string]any{"result": "FAIL", "error": "MISSINGAPPID"}},
	}
	var scenarios []webtest.Scenario
	for _, rule := range rules {
		for _, op := range []string{"login", "changephone"} {
			scenarios = append(scenarios, rule.scenario(op))
		}
	}
	webtest.Run(t, scenarios)
}

// scenario is the rule's request made with op, alice signed in.
func (rule codeRule) scenario(op string) webtest.Scenario {
	var alice string
	phone := rule.phone
	if phone == "" {
		phone = aliceNewPhone
	}
	return webtest.Scenario{
		Name:    op + ": " + rule.name,
		Options: []webtest.Option{webtest.WithArgs(append([]string{"--otp-ip-hourly", "0", "--otp-ip-daily", "0"}, rule.args...)...)},
		Before: func(t testing.TB, e *webtest.Env) {
			alice = e.SignIn(alicePhone, "phone")
			if rule.state != nil {
				rule.state(t, e)
			}
		},
		Request: func(t testing.TB, e *webtest.Env) *http.Request {
			params := map[string]any{"op": op, "phone": phone}
			switch rule.appid {
			case "":
				params["appid"] = "test.app"
			case "-":
			default:
				params["appid"] = rule.appid
			}
			if op == "changephone" {
				params["token"] = alice
			}
			return jsonRequest(t, params)
		},
		ExpectedFields: rule.want,
		After: func(t testing.TB, e *webtest.Env, r *webtest.Response) {
			if r.String("result") == "FAIL" && !strings.Contains(r.Header.Get("Content-Type"), "json") {
				t.Errorf("content type %q", r.Header.Get("Content-Type"))
			}
			if op == "changephone" {
				if n := e.Count("SELECT COUNT(*) FROM users WHERE phone = ?", "+"+alicePhone); n != 1 {
					t.Error("asking for a code changed alice's number")
				}
			}
			if rule.after != nil {
				rule.after(t, e, op, alice)
			}
		},
	}
}
