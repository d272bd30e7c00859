package web_test

import (
	"bufio"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"roster/web"
	"roster/web/webtest"
)

const (
	usPhone = "12015550123" // valid: +1 201 555 01xx
	frPhone = "33612345678" // valid French mobile
)

func loginParams(phone string) map[string]any {
	return map[string]any{"op": "login", "appid": "com.example.app", "phone": phone}
}

// Both request encodings work on every path the protocol names.
func TestRequestEncodings(t *testing.T) {
	form := func(path string) func(testing.TB, *webtest.Env) *http.Request {
		return func(testing.TB, *webtest.Env) *http.Request {
			r := httptest.NewRequest(http.MethodPost, path, strings.NewReader("op=login&appid=a&phone="+usPhone))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}
	}
	jsonReq := func(path, ct string) func(testing.TB, *webtest.Env) *http.Request {
		return func(testing.TB, *webtest.Env) *http.Request {
			r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(`{"op":"login","appid":"a","phone":`+usPhone+`}`))
			if ct != "" {
				r.Header.Set("Content-Type", ct)
			}
			return r
		}
	}
	multipartReq := func(testing.TB, *webtest.Env) *http.Request {
		var b strings.Builder
		w := multipart.NewWriter(&b)
		for k, v := range map[string]string{"op": "login", "appid": "a", "phone": usPhone} {
			_ = w.WriteField(k, v)
		}
		_ = w.Close()
		r := httptest.NewRequest(http.MethodPost, "/api.php", strings.NewReader(b.String()))
		r.Header.Set("Content-Type", w.FormDataContentType())
		return r
	}
	queued := func(t testing.TB, e *webtest.Env, _ *webtest.Response) {
		if n := e.Count("SELECT COUNT(*) FROM otp_codes WHERE phone = ?", "+"+usPhone); n != 1 {
			t.Errorf("%d codes issued, want 1", n)
		}
	}
	ok := map[string]any{"op": "login", "result": "OK"}
	var scenarios []webtest.Scenario
	for _, path := range []string{"/api.php", "/api", "/conf/api.php"} {
		scenarios = append(scenarios,
			webtest.Scenario{Name: "GET query " + path, URL: path + "?op=login&appid=a&phone=" + usPhone, ExpectedFields: ok, After: queued},
			webtest.Scenario{Name: "POST form " + path, Request: form(path), ExpectedFields: ok, After: queued},
			webtest.Scenario{Name: "POST JSON " + path, Request: jsonReq(path, "application/json"), ExpectedFields: ok, After: queued},
		)
	}
	scenarios = append(scenarios,
		webtest.Scenario{Name: "POST JSON to the bare host", Request: jsonReq("/", "application/json; charset=utf-8"), ExpectedFields: ok, After: queued},
		webtest.Scenario{Name: "JSON without a content type", Request: jsonReq("/", ""), ExpectedFields: ok, After: queued},
		webtest.Scenario{Name: "JSON sent as text/plain", Request: jsonReq("/api.php", "text/plain"), ExpectedFields: ok, After: queued},
		webtest.Scenario{Name: "multipart form", Request: multipartReq, ExpectedFields: ok, After: queued},
		webtest.Scenario{Name: "op in the query, the rest in the body", Method: http.MethodPost, URL: "/api.php?op=login",
			Body: `{"appid":"a","phone":"` + usPhone + `"}`, ExpectedFields: ok, After: queued},
		webtest.Scenario{Name: "op is case-insensitive", URL: "/api.php?op=LOGIN&appid=a&phone=" + usPhone, ExpectedFields: ok, After: queued},
	)
	webtest.Run(t, scenarios)
}

// The envelope rules: always 200 and a JSON object with op, a numeric ts and
// result; error and errmsg on FAIL.
func TestEnvelope(t *testing.T) {
	webtest.Run(t, []webtest.Scenario{
		{
			Name: "missing op", URL: "/api.php",
			ExpectedFields: map[string]any{"code": "NOOP", "error": "NOOP", "result": "FAIL", "op": ""},
		},
		{
			Name: "empty op in JSON", Method: http.MethodPost, URL: "/", Body: `{"op":""}`,
			ExpectedFields: map[string]any{"error": "NOOP", "result": "FAIL"},
		},
		{
			Name: "unknown op", URL: "/api.php?op=Frobnicate",
			ExpectedFields: map[string]any{"error": "BADOP", "result": "FAIL", "op": "frobnicate"},
		},
		{
			Name: "groups are not implemented yet", URL: "/api.php?op=getgroup&token=x",
			ExpectedFields: map[string]any{"error": "BADOP", "result": "FAIL"},
		},
		{
			Name: "malformed JSON", Method: http.MethodPost, URL: "/", Body: `{"op":"login",`,
			Headers:        map[string]string{"Content-Type": "application/json"},
			ExpectedFields: map[string]any{"error": "BADREQUEST", "result": "FAIL"},
		},
		{
			Name: "JSON that is not an object", Method: http.MethodPost, URL: "/api", Body: `["op","login"]`,
			Headers:        map[string]string{"Content-Type": "application/json"},
			ExpectedFields: map[string]any{"error": "BADREQUEST", "result": "FAIL"},
		},
		{
			Name: "bad URL encoding", URL: "/api.php?op=login&phone=%zz",
			ExpectedFields: map[string]any{"error": "BADREQUEST", "result": "FAIL"},
		},
		{
			Name: "numbers may be JSON numbers", Method: http.MethodPost, URL: "/",
			Body:           `{"op":"login","appid":"a","phone":12015550123,"dt":1}`,
			ExpectedFields: map[string]any{"result": "OK"},
		},
		{
			Name: "headers", URL: "/api.php?op=login&appid=a&phone=" + usPhone,
			After: func(t testing.TB, e *webtest.Env, r *webtest.Response) {
				for k, want := range map[string]string{
					"Content-Type":                "application/json",
					"Cache-Control":               "no-cache",
					"Access-Control-Allow-Origin": "*",
				} {
					if got := r.Header.Get(k); !strings.HasPrefix(got, want) {
						t.Errorf("%s = %q, want %q", k, got, want)
					}
				}
				if _, ok := r.Fields()["ts"].(interface{ Int64() (int64, error) }); !ok {
					t.Errorf("ts is not a JSON number: %s", r.Body)
				}
				if r.String("ts") != fmt.Sprint(webtest.Start.Unix()) {
					t.Errorf("ts = %s, want the server's (fake) time %d", r.String("ts"), webtest.Start.Unix())
				}
			},
		},
		{
			Name: "CORS preflight", Method: http.MethodOptions, URL: "/api.php",
			Headers:        map[string]string{"Origin": "https://web.example", "Access-Control-Request-Method": "POST"},
			ExpectedStatus: http.StatusNoContent,
			After: func(t testing.TB, e *webtest.Env, r *webtest.Response) {
				if r.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(r.Header.Get("Access-Control-Allow-Headers"), "Content-Type") {
					t.Errorf("preflight headers: %v", r.Header)
				}
			},
		},
		{
			Name: "a parameter over the limit", Method: http.MethodPost, URL: "/",
			Body:           `{"op":"login","appid":"a","phone":"` + strings.Repeat("1", 600<<10) + `"}`,
			ExpectedFields: map[string]any{"error": "BADREQUEST", "result": "FAIL"},
		},
	})
}

func TestLoginValidation(t *testing.T) {
	webtest.Run(t, []webtest.Scenario{
		{Name: "no appid", URL: "/api.php?op=login&phone=" + usPhone, ExpectedFields: map[string]any{"error": "MISSINGAPPID"}},
		{Name: "no phone", URL: "/api.php?op=login&appid=a", ExpectedFields: map[string]any{"error": "MISSINGPARA"}},
		{Name: "letters", URL: "/api.php?op=login&appid=a&phone=callme", ExpectedFields: map[string]any{"error": "BADPHONE"}},
		{Name: "too short", URL: "/api.php?op=login&appid=a&phone=12", ExpectedFields: map[string]any{"error": "BADPHONE"}},
		{Name: "unknown country code", URL: "/api.php?op=login&appid=a&phone=9991234567", ExpectedFields: map[string]any{"error": "BADPHONE"}},
		{Name: "fictional US range is not valid", URL: "/api.php?op=login&appid=a&phone=15555550100", ExpectedFields: map[string]any{"error": "BADPHONE"}},
		{Name: "UK drama range is not valid", URL: "/api.php?op=login&appid=a&phone=447700900123", ExpectedFields: map[string]any{"error": "BADPHONE"}},
		{
			Name: "no code is sent for a bad number", URL: "/api.php?op=login&appid=a&phone=15555550100",
			After: func(t testing.TB, e *webtest.Env, _ *webtest.Response) {
				if n := e.Count("SELECT COUNT(*) FROM outbox"); n != 0 {
					t.Errorf("%d messages queued", n)
				}
			},
		},
	})
}

// Phone numbers in the formats people and clients use, from several countries.
func TestLoginPhoneFormats(t *testing.T) {
	cases := []struct {
		phone, cc, want string
	}{
		{"12015550123", "", "+12015550123"},
		{"+1 (201) 555-0123", "", "+12015550123"},
		{"2015550123", "1", "+12015550123"},
		{"33612345678", "", "+33612345678"},
		{"+33 6 12 34 56 78", "", "+33612345678"},
		{"06 12 34 56 78", "33", "+33612345678"},
		{"0033612345678", "", "+33612345678"},
		{"447911123456", "", "+447911123456"},
		{"07911 123456", "44", "+447911123456"},
		{"+49 1512 3456789", "", "+4915123456789"},
		{"015123456789", "49", "+4915123456789"},
		{"919876543210", "", "+919876543210"},
		{"+55 11 91234-5678", "", "+5511912345678"},
		{"+81 90-1234-5678", "", "+819012345678"},
	}
	e := webtest.New(t)
	for _, c := range cases {
		e.Clock.Advance(time.Hour) // past every per-phone limit
		p := loginParams(c.phone)
		if c.cc != "" {
			p["cc"] = c.cc
		}
		r := e.JSON(p)
		r.ExpectOK(t)
		if n := e.Count("SELECT COUNT(*) FROM otp_codes WHERE phone = ? AND created_at = ?", c.want, e.Clock.Now().UnixMilli()); n != 1 {
			t.Errorf("%q (cc %q): no code issued for %s", c.phone, c.cc, c.want)
		}
	}
}

func TestSignInIssuesToken(t *testing.T) {
	e := webtest.New(t)
	e.JSON(loginParams(usPhone)).ExpectOK(t)
	code := e.LastCode("+" + usPhone)
	if len(code) != 6 {
		t.Fatalf("code %q is not 6 digits", code)
	}
	p := loginParams(usPhone)
	p["otp"], p["name"], p["device"], p["dt"] = code, "Ada", "device-1", "1"
	r := e.JSON(p)
	r.ExpectOK(t)
	f := r.Fields()
	for _, k := range []string{"token", "phone", "cc", "name", "status", "photo", "tn", "uid", "urls", "uploadurl", "downloadurl", "fileurl", "share", "invite"} {
		if _, ok := f[k]; !ok {
			t.Errorf("login reply lacks %q: %s", k, r.Body)
		}
	}
	tok := r.String("token")
	if len(tok) != 64 || strings.Trim(tok, "0123456789abcdef") != "" {
		t.Errorf("token %q is not 256 bits of hex", tok)
	}
	if r.String("phone") != usPhone || r.String("cc") != "1" || r.String("name") != "Ada" {
		t.Errorf("reply %s", r.Body)
	}
	if _, ok := f["cc"].(string); !ok {
		t.Errorf("cc must be a string: %s", r.Body)
	}
	if !strings.HasSuffix(r.String("uploadurl"), "/api.php") || !strings.Contains(r.String("urls"), "download") {
		t.Errorf("client configuration: %s", r.Body)
	}
	// Only the token's hash is stored.
	if n := e.Count("SELECT COUNT(*) FROM sessions WHERE hex(token_hash) = upper(?)", tok); n != 0 {
		t.Error("the raw token is stored")
	}
	if n := e.Count("SELECT COUNT(*) FROM sessions WHERE device = 'device-1' AND device_type = '1' AND app_id = 'com.example.app'"); n != 1 {
		t.Error("session does not record device, dt and appid")
	}
	// A code works once.
	e.JSON(p).ExpectFail(t, "BADCODE")
	// The same person signing in again keeps the profile; a new name is not taken.
	e.Clock.Advance(time.Minute)
	e.JSON(loginParams(usPhone)).ExpectOK(t)
	p2 := loginParams(usPhone)
	p2["otp"], p2["name"] = e.LastCode("+"+usPhone), "Mallory"
	r2 := e.JSON(p2)
	r2.ExpectOK(t)
	if r2.String("name") != "Ada" || r2.String("uid") != r.String("uid") {
		t.Errorf("re-login changed the user: %s", r2.Body)
	}
	if n := e.Count("SELECT COUNT(*) FROM users"); n != 1 {
		t.Errorf("%d users", n)
	}
}

// Older clients send the code as `code`, and the source document spells the
// phone `phonel` in the verify step.
func TestSignInAliases(t *testing.T) {
	e := webtest.New(t)
	e.Query(map[string]string{"op": "login", "appid": "a", "phone": usPhone}).ExpectOK(t)
	r := e.Query(map[string]string{"op": "login", "appid": "a", "phonel": usPhone, "code": e.LastCode("+" + usPhone)})
	r.ExpectOK(t)
	if r.String("token") == "" {
		t.Fatal("no token")
	}
}

// The reply to a code request does not tell whether the number is registered.
func TestCodeRequestSameForRegisteredAndNew(t *testing.T) {
	e := webtest.New(t)
	e.SignIn(usPhone, "d")
	e.Clock.Advance(time.Minute)
	registered := e.JSON(loginParams(usPhone))
	fresh := e.JSON(loginParams(frPhone))
	if string(registered.Body) != string(fresh.Body) {
		t.Errorf("replies differ:\n%s\n%s", registered.Body, fresh.Body)
	}
}

func verify(e *webtest.Env, phone, code string) *webtest.Response {
	p := loginParams(phone)
	p["otp"] = code
	return e.JSON(p)
}

func wrongCode(right string) string {
	if right == "000000" {
		return "000001"
	}
	return "000000"
}

func TestWrongCodeAndTriesPerCode(t *testing.T) {
	e := webtest.New(t)
	e.JSON(loginParams(usPhone)).ExpectOK(t)
	code := e.LastCode("+" + usPhone)
	bad := wrongCode(code)
	for i := 1; i <= 5; i++ {
		r := verify(e, usPhone, bad)
		r.ExpectFail(t, "BADCODE")
		if i == 1 && !strings.Contains(r.String("errmsg"), "4 more tries") {
			t.Errorf("errmsg %q does not say how many tries are left", r.String("errmsg"))
		}
	}
	// The code is used up: even the right code no longer works.
	verify(e, usPhone, code).ExpectFail(t, "EXPIRED")
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'code_failed'"); n != 5 {
		t.Errorf("%d code_failed audit entries, want 5", n)
	}
}

func TestCodeExpires(t *testing.T) {
	e := webtest.New(t)
	e.JSON(loginParams(usPhone)).ExpectOK(t)
	code := e.LastCode("+" + usPhone)
	e.Clock.Advance(5*time.Minute + time.Second)
	verify(e, usPhone, code).ExpectFail(t, "EXPIRED")
	// A new code works.
	e.JSON(loginParams(usPhone)).ExpectOK(t)
	verify(e, usPhone, e.LastCode("+"+usPhone)).ExpectOK(t)
}

func TestCodeJustBeforeExpiry(t *testing.T) {
	e := webtest.New(t)
	e.JSON(loginParams(usPhone)).ExpectOK(t)
	code := e.LastCode("+" + usPhone)
	e.Clock.Advance(5*time.Minute - time.Second)
	verify(e, usPhone, code).ExpectOK(t)
}

func TestResendSupersedesAndCooldown(t *testing.T) {
	e := webtest.New(t)
	e.JSON(loginParams(usPhone)).ExpectOK(t)
	first := e.LastCode("+" + usPhone)
	r := e.JSON(loginParams(usPhone))
	r.ExpectFail(t, "RATELIMIT")
	if r.String("retry_after") != "30" {
		t.Errorf("retry_after = %s, want 30", r.String("retry_after"))
	}
	e.Clock.Advance(20 * time.Second)
	if r := e.JSON(loginParams(usPhone)); r.String("retry_after") != "10" {
		t.Errorf("retry_after after 20 s = %s, want 10", r.String("retry_after"))
	}
	e.Clock.Advance(10 * time.Second)
	e.JSON(loginParams(usPhone)).ExpectOK(t)
	second := e.LastCode("+" + usPhone)
	if first != second {
		verify(e, usPhone, first).ExpectFail(t, "BADCODE") // the old code is superseded
	}
	verify(e, usPhone, second).ExpectOK(t)
}

// Consecutive failures are counted per phone across resends; ten lock the
// number for an hour, for both steps.
func TestFailuresSurviveResendAndLock(t *testing.T) {
	e := webtest.New(t)
	fail := func(n int) {
		t.Helper()
		e.JSON(loginParams(usPhone)).ExpectOK(t)
		bad := wrongCode(e.LastCode("+" + usPhone))
		for i := 0; i < n; i++ {
			verify(e, usPhone, bad).ExpectFail(t, "BADCODE")
		}
		e.Clock.Advance(31 * time.Second)
	}
	fail(4)
	fail(4)
	e.JSON(loginParams(usPhone)).ExpectOK(t)
	code := e.LastCode("+" + usPhone)
	verify(e, usPhone, wrongCode(code)).ExpectFail(t, "BADCODE") // 9th
	r := verify(e, usPhone, wrongCode(code))                     // 10th
	r.ExpectFail(t, "LOCKED")
	if r.String("retry_after") != "3600" {
		t.Errorf("retry_after = %s", r.String("retry_after"))
	}
	// Locked: even the right code is refused, and no new code is sent.
	verify(e, usPhone, code).ExpectFail(t, "LOCKED")
	e.Clock.Advance(time.Minute)
	e.JSON(loginParams(usPhone)).ExpectFail(t, "LOCKED")
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'phone_locked' AND phone = ?", "+"+usPhone); n != 1 {
		t.Errorf("%d phone_locked entries", n)
	}
	// Another number is not affected.
	e.JSON(loginParams(frPhone)).ExpectOK(t)
	// After the hour, sign-in works again.
	e.Clock.Advance(time.Hour)
	e.JSON(loginParams(usPhone)).ExpectOK(t)
	verify(e, usPhone, e.LastCode("+"+usPhone)).ExpectOK(t)
}

// A success resets the consecutive-failure count.
func TestSuccessResetsFailures(t *testing.T) {
	e := webtest.New(t)
	e.JSON(loginParams(usPhone)).ExpectOK(t)
	code := e.LastCode("+" + usPhone)
	for i := 0; i < 4; i++ {
		verify(e, usPhone, wrongCode(code)).ExpectFail(t, "BADCODE")
	}
	verify(e, usPhone, code).ExpectOK(t)
	if n := e.Count("SELECT failures FROM phone_guards WHERE phone = ?", "+"+usPhone); n != 0 {
		t.Errorf("failures = %d after a success", n)
	}
}

func TestPhoneQuotas(t *testing.T) {
	e := webtest.New(t)
	for i := 0; i < 5; i++ {
		e.JSON(loginParams(usPhone)).ExpectOK(t)
		e.Clock.Advance(31 * time.Second)
	}
	r := e.JSON(loginParams(usPhone))
	r.ExpectFail(t, "RATELIMIT")
	// The oldest of the five leaves the hour window at Start+1h.
	wantWait := webtest.Start.Add(time.Hour).Sub(e.Clock.Now())
	if r.String("retry_after") != fmt.Sprint(int(wantWait.Seconds())) {
		t.Errorf("retry_after = %s, want %d", r.String("retry_after"), int(wantWait.Seconds()))
	}
	if r.Header.Get("Retry-After") != r.String("retry_after") {
		t.Errorf("Retry-After header %q", r.Header.Get("Retry-After"))
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'code_rate_limited'"); n != 1 {
		t.Errorf("%d code_rate_limited entries", n)
	}
	// The daily quota: 10 per day.
	for i := 0; i < 5; i++ {
		e.Clock.Advance(time.Hour)
		e.JSON(loginParams(usPhone)).ExpectOK(t)
	}
	e.Clock.Advance(time.Hour)
	r = e.JSON(loginParams(usPhone))
	r.ExpectFail(t, "RATELIMIT")
	if !strings.Contains(r.String("errmsg"), "today") {
		t.Errorf("errmsg %q", r.String("errmsg"))
	}
	e.Clock.Advance(24 * time.Hour)
	e.JSON(loginParams(usPhone)).ExpectOK(t)
}

// Counters live in the database: a restart does not reset them.
func TestQuotaSurvivesRestart(t *testing.T) {
	e := webtest.New(t)
	e.JSON(loginParams(usPhone)).ExpectOK(t)
	e2 := webtest.New(t, func(c *web.Config, o *web.Options) { c.DataDir = e.DataDir; o.Clock = e.Clock })
	e2.JSON(loginParams(usPhone)).ExpectFail(t, "RATELIMIT")
}

func TestIPQuotaBehindTrustedProxy(t *testing.T) {
	e := webtest.New(t, webtest.WithArgs("--trusted-proxies", "0.0.0.0", "--otp-ip-hourly", "3"))
	from := func(ip, phone string) *webtest.Response {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(webtest.MustJSON(t, loginParams(phone))))
		req.Header.Set("X-Forwarded-For", ip)
		return e.Do(req)
	}
	phones := []string{"12015550101", "12015550102", "12015550103", "12015550104"}
	for _, p := range phones[:3] {
		from("203.0.113.7", p).ExpectOK(t)
	}
	r := from("203.0.113.7", phones[3])
	r.ExpectFail(t, "RATELIMIT")
	if !strings.Contains(r.String("errmsg"), "network") {
		t.Errorf("errmsg %q", r.String("errmsg"))
	}
	from("203.0.113.8", phones[3]).ExpectOK(t)
	if n := e.Count("SELECT COUNT(*) FROM otp_codes WHERE ip = '203.0.113.7'"); n != 3 {
		t.Errorf("%d codes recorded for the client IP", n)
	}
}

// Without a trusted proxy, a client cannot choose its IP with a header.
func TestForwardedForIgnoredWithoutTrustedProxy(t *testing.T) {
	e := webtest.New(t)
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(webtest.MustJSON(t, loginParams(usPhone))))
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	e.Do(req).ExpectOK(t)
	if n := e.Count("SELECT COUNT(*) FROM otp_codes WHERE ip = '203.0.113.7'"); n != 0 {
		t.Error("an untrusted X-Forwarded-For was believed")
	}
}

func TestTestNumbers(t *testing.T) {
	// +1 555 numbers are fictional: possible but not valid, which is what
	// test numbers are for.
	e := webtest.New(t, webtest.WithArgs("--test-numbers", "+1 555 010 0999:123456, 447700900123:654321"))
	for i := 0; i < 12; i++ { // never throttled
		e.JSON(loginParams("15550100999")).ExpectOK(t)
	}
	if n := e.Count("SELECT COUNT(*) FROM outbox"); n != 0 {
		t.Errorf("%d messages queued for a test number", n)
	}
	verify(e, "15550100999", "111111").ExpectFail(t, "BADCODE")
	r := verify(e, "15550100999", "123456")
	r.ExpectOK(t)
	if r.String("phone") != "15550100999" {
		t.Errorf("reply %s", r.Body)
	}
	verify(e, "+44 7700 900123", "654321").ExpectOK(t)
	// A number that is not a test number still has to be valid.
	e.JSON(loginParams("15550100998")).ExpectFail(t, "BADPHONE")
}

func TestDemoCodeOffByDefault(t *testing.T) {
	e := webtest.New(t)
	if e.Config.DemoCode != "" {
		t.Fatal("demo-code mode is on by default")
	}
	e.JSON(loginParams(usPhone)).ExpectOK(t)
	if n := e.Count("SELECT COUNT(*) FROM outbox"); n != 1 {
		t.Errorf("without demo mode a code must be sent; %d queued", n)
	}
	if strings.Contains(e.Logs(), "DEMO-CODE") {
		t.Error("demo warning logged while demo mode is off")
	}
	home := e.Do(httptest.NewRequest(http.MethodGet, "/", nil))
	if strings.Contains(string(home.Body), "demo-banner") {
		t.Error("demo banner shown while demo mode is off")
	}
}

func TestDemoCodeMode(t *testing.T) {
	e := webtest.New(t, webtest.WithArgs("--demo-code", "424242"))
	if !strings.Contains(e.Logs(), "DEMO-CODE MODE IS ON") {
		t.Error("no warning at start")
	}
	e.JSON(loginParams(frPhone)).ExpectOK(t)
	if n := e.Count("SELECT COUNT(*) FROM outbox"); n != 0 {
		t.Errorf("demo mode sent %d messages", n)
	}
	verify(e, frPhone, "111111").ExpectFail(t, "BADCODE")
	verify(e, frPhone, "424242").ExpectOK(t)
	home := e.Do(httptest.NewRequest(http.MethodGet, "/", nil))
	if !strings.Contains(string(home.Body), "demo-banner") {
		t.Error("no demo banner on the start page")
	}
}

func TestBlockedUserCannotSignIn(t *testing.T) {
	e := webtest.New(t)
	tok := e.SignIn(usPhone, "d1")
	until := e.Clock.Now().Add(24 * time.Hour).UnixMilli()
	if err := e.Server.DB().Write.Exec("UPDATE users SET blocked_until = ?", until).Error; err != nil {
		t.Fatal(err)
	}
	e.JSON(map[string]any{"op": "setnotify", "token": tok, "notifytoken": "x"}).ExpectFail(t, "AUTHFAIL")
	e.Clock.Advance(time.Minute)
	e.JSON(loginParams(usPhone)).ExpectFail(t, "BLOCKED")
	e.Clock.Advance(24 * time.Hour)
	e.JSON(loginParams(usPhone)).ExpectOK(t)
}

// A body over the limit is refused by the server before any handler runs:
// it must still get the envelope (checked over a real connection, since the
// limit is enforced while reading the request).
func TestBodyOverLimit(t *testing.T) {
	e := webtest.New(t, webtest.WithArgs("--body-limit-mb", "1"))
	base := e.Listen()
	// The server answers as soon as it reads the Content-Length, so send
	// the headers alone and read the answer.
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", 2<<20)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !strings.Contains(string(b), `"error":"TOOLARGE"`) {
		t.Errorf("got %d %s", res.StatusCode, b)
	}
}
