package web_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"roster/web/webtest"
)

func setNotify(e *webtest.Env, token string) *webtest.Response {
	return e.JSON(map[string]any{"op": "setnotify", "token": token, "notifytoken": "push-" + token[:8], "dt": "1", "prod": 1})
}

func TestLogoutRevokesOnlyThatToken(t *testing.T) {
	e := webtest.New(t)
	phone := usPhone
	a := e.SignIn(phone, "phone-a")
	e.Clock.Advance(time.Minute)
	b := e.SignIn(phone, "tablet-b")
	setNotify(e, a).ExpectOK(t)
	setNotify(e, b).ExpectOK(t)

	e.JSON(map[string]any{"op": "logout", "token": a}).ExpectOK(t)
	setNotify(e, a).ExpectFail(t, "AUTHFAIL")
	setNotify(e, b).ExpectOK(t) // the other device is still signed in

	// Logging out again, or with an unknown token, is still OK.
	e.JSON(map[string]any{"op": "logout", "token": a}).ExpectOK(t)
	e.JSON(map[string]any{"op": "logout", "token": "nonsense"}).ExpectOK(t)
	e.JSON(map[string]any{"op": "logout"}).ExpectOK(t)

	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'token_revoked' AND detail = 'logout'"); n != 1 {
		t.Errorf("%d token_revoked entries", n)
	}
}

func TestSignInAgainOnSameDeviceReplacesSession(t *testing.T) {
	e := webtest.New(t)
	first := e.SignIn(usPhone, "phone-a")
	e.Clock.Advance(time.Minute)
	second := e.SignIn(usPhone, "phone-a")
	setNotify(e, first).ExpectFail(t, "AUTHFAIL")
	setNotify(e, second).ExpectOK(t)
	if n := e.Count("SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL"); n != 1 {
		t.Errorf("%d live sessions, want 1", n)
	}
}

func TestAuthentication(t *testing.T) {
	webtest.Run(t, []webtest.Scenario{
		{
			Name: "no token", Method: http.MethodPost, URL: "/", Body: `{"op":"setnotify","notifytoken":"x"}`,
			ExpectedFields: map[string]any{"result": "FAIL", "error": "AUTHFAIL", "op": "setnotify"},
		},
		{
			Name: "unknown token", URL: "/api.php?op=setnotify&token=" + strings.Repeat("ab", 32),
			ExpectedFields: map[string]any{"error": "AUTHFAIL"},
		},
		{
			Name: "token as a Bearer header",
			Request: func(t testing.TB, e *webtest.Env) *http.Request {
				tok := e.SignIn(usPhone, "d")
				r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"op":"setnotify","notifytoken":"abc","fcmid":"f1"}`))
				r.Header.Set("Authorization", "Bearer "+tok)
				return r
			},
			ExpectedFields: map[string]any{"result": "OK"},
			// Authenticated replies carry the client configuration.
			ExpectedContent: []string{`"uploadurl"`, `"urls"`, `"invite"`},
			After: func(t testing.TB, e *webtest.Env, _ *webtest.Response) {
				if n := e.Count("SELECT COUNT(*) FROM sessions WHERE notify_token = 'abc' AND fcm_id = 'f1'"); n != 1 {
					t.Error("setnotify did not store the push token on the session")
				}
			},
		},
		{
			Name: "expired token",
			Request: func(t testing.TB, e *webtest.Env) *http.Request {
				tok := e.SignIn(usPhone, "d")
				e.Clock.Advance(366 * 24 * time.Hour)
				return httptest.NewRequest(http.MethodGet, "/api.php?op=setnotify&token="+tok, nil)
			},
			ExpectedFields: map[string]any{"error": "AUTHFAIL"},
		},
		{
			Name:    "token lifetime is configurable",
			Options: []webtest.Option{webtest.WithArgs("--token-lifetime", "1h")},
			Request: func(t testing.TB, e *webtest.Env) *http.Request {
				tok := e.SignIn(usPhone, "d")
				e.Clock.Advance(61 * time.Minute)
				return httptest.NewRequest(http.MethodGet, "/api.php?op=setnotify&token="+tok, nil)
			},
			ExpectedFields: map[string]any{"error": "AUTHFAIL"},
		},
	})
}

// "Last used" is written at most once per interval, not on every request.
func TestLastUsedIsCoalesced(t *testing.T) {
	e := webtest.New(t)
	tok := e.SignIn(usPhone, "d")
	lastUsed := func() int64 { return e.Count("SELECT last_used_at FROM sessions") }
	signedIn := lastUsed()
	e.Clock.Advance(30 * time.Second)
	setNotify(e, tok).ExpectOK(t)
	if lastUsed() != signedIn {
		t.Error("last_used_at written within the coalescing interval")
	}
	e.Clock.Advance(31 * time.Second)
	setNotify(e, tok).ExpectOK(t)
	if got := lastUsed(); got != e.Clock.Now().UnixMilli() {
		t.Errorf("last_used_at = %d, want now %d", got, e.Clock.Now().UnixMilli())
	}
	if got := e.Count("SELECT last_seen_at FROM users"); got != e.Clock.Now().UnixMilli() {
		t.Errorf("users.last_seen_at = %d, not updated", got)
	}
}

// Every step of a sign-in is in the audit log with phone, IP and user agent.
func TestAuthEventsAreAudited(t *testing.T) {
	e := webtest.New(t)
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(webtest.MustJSON(t, loginParams(usPhone))))
	req.Header.Set("User-Agent", "Roster-Test/1.0")
	e.Do(req).ExpectOK(t)
	code := e.LastCode("+" + usPhone)
	verify(e, usPhone, wrongCode(code)).ExpectFail(t, "BADCODE")
	tok := e.SignIn(frPhone, "d")
	e.JSON(map[string]any{"op": "logout", "token": tok}).ExpectOK(t)

	for typ, phone := range map[string]string{
		"code_requested": "+" + usPhone, "code_sent": "+" + usPhone, "code_failed": "+" + usPhone,
		"code_verified": "+" + frPhone, "user_created": "+" + frPhone, "token_issued": "+" + frPhone,
		"token_revoked": "+" + frPhone,
	} {
		if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = ? AND phone = ?", typ, phone); n == 0 {
			t.Errorf("no %s entry for %s", typ, phone)
		}
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'code_requested' AND user_agent = 'Roster-Test/1.0' AND ip != ''"); n != 1 {
		t.Error("audit entry lacks user agent or IP")
	}
	// The audit log is append-only.
	if err := e.Server.DB().Write.Exec("DELETE FROM audit_log").Error; err == nil {
		t.Error("audit entries can be deleted")
	}
	if err := e.Server.DB().Write.Exec("UPDATE audit_log SET phone = ''").Error; err == nil {
		t.Error("audit entries can be changed")
	}
}

// Codes appear in the log only on the console delivery line; tokens never.
func TestNoSecretsInLogs(t *testing.T) {
	e := webtest.New(t)
	tok := e.SignIn(usPhone, "d")
	setNotify(e, tok).ExpectOK(t)
	e.Query(map[string]string{"op": "setnotify", "token": tok, "notifytoken": "p"}).ExpectOK(t)
	var code string
	if err := e.Server.DB().Read.Raw("SELECT body FROM outbox").Scan(&code).Error; err != nil {
		t.Fatal(err)
	}
	code = code[:6]
	logs := e.Logs()
	if strings.Contains(logs, tok) {
		t.Error("a token was logged")
	}
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, code) && !strings.Contains(line, "DEVELOPMENT DELIVERY") {
			t.Errorf("the code was logged outside the console channel: %s", line)
		}
	}
	if !strings.Contains(logs, "DEVELOPMENT DELIVERY") {
		t.Error("the console channel did not log the message")
	}
	// The code is stored only as an HMAC.
	if n := e.Count("SELECT COUNT(*) FROM otp_codes WHERE instr(code_mac, ?) > 0", code); n != 0 {
		t.Error("the code is stored in clear")
	}
}

// The background worker delivers queued messages and records it.
func TestWorkerMarksMessageSent(t *testing.T) {
	e := webtest.New(t)
	e.JSON(loginParams(usPhone)).ExpectOK(t)
	e.LastCode("+" + usPhone)
	if n := e.Count("SELECT COUNT(*) FROM outbox WHERE state = 'sent' AND sent_at IS NOT NULL AND attempts = 1"); n != 1 {
		t.Error("the worker did not mark the message sent")
	}
}
