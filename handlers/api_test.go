package handlers_test

import (
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"roster/web/webtest"
)

// Both request encodings work on every path the protocol names.
func TestRequestEncodings(t *testing.T) {
	form := func(path string) func(testing.TB, *webtest.Env) *http.Request {
		return func(testing.TB, *webtest.Env) *http.Request {
			r := httptest.NewRequest(http.MethodPost, path, strings.NewReader("op=login&appid=a&phone="+webtest.USPhone))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}
	}
	jsonReq := func(path, ct string) func(testing.TB, *webtest.Env) *http.Request {
		return func(testing.TB, *webtest.Env) *http.Request {
			r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(`{"op":"login","appid":"a","phone":`+webtest.USPhone+`}`))
			if ct != "" {
				r.Header.Set("Content-Type", ct)
			}
			return r
		}
	}
	multipartReq := func(testing.TB, *webtest.Env) *http.Request {
		var b strings.Builder
		w := multipart.NewWriter(&b)
		for k, v := range map[string]string{"op": "login", "appid": "a", "phone": webtest.USPhone} {
			_ = w.WriteField(k, v)
		}
		_ = w.Close()
		r := httptest.NewRequest(http.MethodPost, "/api.php", strings.NewReader(b.String()))
		r.Header.Set("Content-Type", w.FormDataContentType())
		return r
	}
	queued := func(t testing.TB, e *webtest.Env, _ *webtest.Response) {
		if n := e.Count("SELECT COUNT(*) FROM otp_codes WHERE phone = ?", "+"+webtest.USPhone); n != 1 {
			t.Errorf("%d codes issued, want 1", n)
		}
	}
	ok := map[string]any{"op": "login", "result": "OK"}
	var scenarios []webtest.Scenario
	for _, path := range []string{"/api.php", "/api", "/conf/api.php"} {
		scenarios = append(scenarios,
			webtest.Scenario{Name: "GET query " + path, URL: path + "?op=login&appid=a&phone=" + webtest.USPhone, ExpectedFields: ok, After: queued},
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
			Body: `{"appid":"a","phone":"` + webtest.USPhone + `"}`, ExpectedFields: ok, After: queued},
		webtest.Scenario{Name: "op is case-insensitive", URL: "/api.php?op=LOGIN&appid=a&phone=" + webtest.USPhone, ExpectedFields: ok, After: queued},
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
			Name: "group ops need a token", URL: "/api.php?op=getgroup&gid=1&token=x",
			ExpectedFields: map[string]any{"error": "AUTHFAIL", "result": "FAIL"},
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
			Name: "headers", URL: "/api.php?op=login&appid=a&phone=" + webtest.USPhone,
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
				if r.String("ts") != fmt.Sprint(webtest.Start().Unix()) {
					t.Errorf("ts = %s, want the server's (fake) time %d", r.String("ts"), webtest.Start().Unix())
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
				tok := e.SignIn(webtest.USPhone, "d")
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
				tok := e.SignIn(webtest.USPhone, "d")
				e.Clock.Advance(366 * 24 * time.Hour)
				return httptest.NewRequest(http.MethodGet, "/api.php?op=setnotify&token="+tok, nil)
			},
			ExpectedFields: map[string]any{"error": "AUTHFAIL"},
		},
		{
			Name:    "token lifetime is configurable",
			Options: []webtest.Option{webtest.WithArgs("--token-lifetime", "1h")},
			Request: func(t testing.TB, e *webtest.Env) *http.Request {
				tok := e.SignIn(webtest.USPhone, "d")
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
	tok := e.SignIn(webtest.USPhone, "d")
	lastUsed := func() int64 { return e.Count("SELECT last_used_at FROM sessions") }
	signedIn := lastUsed()
	e.Clock.Advance(30 * time.Second)
	e.SetNotify(tok).ExpectOK(t)
	if lastUsed() != signedIn {
		t.Error("last_used_at written within the coalescing interval")
	}
	e.Clock.Advance(31 * time.Second)
	e.SetNotify(tok).ExpectOK(t)
	if got := lastUsed(); got != e.Clock.Now().UnixMilli() {
		t.Errorf("last_used_at = %d, want now %d", got, e.Clock.Now().UnixMilli())
	}
	if got := e.Count("SELECT last_seen_at FROM users"); got != e.Clock.Now().UnixMilli() {
		t.Errorf("users.last_seen_at = %d, not updated", got)
	}
}
