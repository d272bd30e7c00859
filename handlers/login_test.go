package handlers_test

import (
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"roster/web/webtest"
)

func TestLoginValidation(t *testing.T) {
	webtest.Run(t, []webtest.Scenario{
		{Name: "no appid", URL: "/api.php?op=login&phone=" + webtest.USPhone, ExpectedFields: map[string]any{"error": "MISSINGAPPID"}},
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
		p := webtest.LoginParams(c.phone)
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

// The client's device name, device type and user agent are stored with the
// session: bytes that are not UTF-8 (which PostgreSQL refuses) are stored
// as U+FFFD, and the sign-in succeeds on both databases.
func TestSignInWithClientTextThatIsNotUTF8(t *testing.T) {
	e := webtest.New(t)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	req := httptest.NewRequest(http.MethodGet, "/api.php?op=login&appid=a&phone="+webtest.USPhone+
		"&otp="+e.LastCode("+"+webtest.USPhone)+"&device=pixel%ff&dt=%fe%ff1", nil)
	req.Header.Set("User-Agent", "Messenger/2.0 \xff")
	e.Do(req).ExpectOK(t)
	if n := e.Count("SELECT COUNT(*) FROM sessions WHERE device = ? AND device_type = ? AND user_agent = ?",
		"pixel\uFFFD", "\uFFFD1", "Messenger/2.0 \uFFFD"); n != 1 {
		t.Errorf("%d sessions stored with U+FFFD for the bytes", n)
	}
}

func TestSignInIssuesToken(t *testing.T) {
	e := webtest.New(t)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	code := e.LastCode("+" + webtest.USPhone)
	if len(code) != 6 {
		t.Fatalf("code %q is not 6 digits", code)
	}
	p := webtest.LoginParams(webtest.USPhone)
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
	if r.String("phone") != webtest.USPhone || r.String("cc") != "1" || r.String("name") != "Ada" {
		t.Errorf("reply %s", r.Body)
	}
	if _, ok := f["cc"].(string); !ok {
		t.Errorf("cc must be a string: %s", r.Body)
	}
	if !strings.HasSuffix(r.String("uploadurl"), "/api.php") || !strings.Contains(r.String("urls"), "download") {
		t.Errorf("client configuration: %s", r.Body)
	}
	// Only the token's hash is stored.
	raw, err := hex.DecodeString(tok)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.Count("SELECT COUNT(*) FROM sessions WHERE token_hash = ?", raw); n != 0 {
		t.Error("the raw token is stored")
	}
	if n := e.Count("SELECT COUNT(*) FROM sessions WHERE device = 'device-1' AND device_type = '1' AND app_id = 'com.example.app'"); n != 1 {
		t.Error("session does not record device, dt and appid")
	}
	// A code works once.
	e.JSON(p).ExpectFail(t, "BADCODE")
	// The same person signing in again keeps the profile; a new name is not taken.
	e.Clock.Advance(time.Minute)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	p2 := webtest.LoginParams(webtest.USPhone)
	p2["otp"], p2["name"] = e.LastCode("+"+webtest.USPhone), "Mallory"
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
	e.Query(map[string]string{"op": "login", "appid": "a", "phone": webtest.USPhone}).ExpectOK(t)
	r := e.Query(map[string]string{"op": "login", "appid": "a", "phonel": webtest.USPhone, "code": e.LastCode("+" + webtest.USPhone)})
	r.ExpectOK(t)
	if r.String("token") == "" {
		t.Fatal("no token")
	}
}

// The reply to a code request does not tell whether the number is registered.
func TestCodeRequestSameForRegisteredAndNew(t *testing.T) {
	e := webtest.New(t)
	e.SignIn(webtest.USPhone, "d")
	e.Clock.Advance(time.Minute)
	registered := e.JSON(webtest.LoginParams(webtest.USPhone))
	fresh := e.JSON(webtest.LoginParams(webtest.FRPhone))
	if string(registered.Body) != string(fresh.Body) {
		t.Errorf("replies differ:\n%s\n%s", registered.Body, fresh.Body)
	}
}

func TestWrongCodeAndTriesPerCode(t *testing.T) {
	e := webtest.New(t)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	code := e.LastCode("+" + webtest.USPhone)
	bad := webtest.WrongCode(code)
	for i := 1; i <= 5; i++ {
		r := e.Verify(webtest.USPhone, bad)
		r.ExpectFail(t, "BADCODE")
		if i == 1 && !strings.Contains(r.String("errmsg"), "4 more tries") {
			t.Errorf("errmsg %q does not say how many tries are left", r.String("errmsg"))
		}
	}
	// The code is used up: even the right code no longer works.
	e.Verify(webtest.USPhone, code).ExpectFail(t, "EXPIRED")
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'code_failed'"); n != 5 {
		t.Errorf("%d code_failed audit entries, want 5", n)
	}
}

func TestCodeExpires(t *testing.T) {
	e := webtest.New(t)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	code := e.LastCode("+" + webtest.USPhone)
	e.Clock.Advance(5*time.Minute + time.Second)
	e.Verify(webtest.USPhone, code).ExpectFail(t, "EXPIRED")
	// A new code works.
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	e.Verify(webtest.USPhone, e.LastCode("+"+webtest.USPhone)).ExpectOK(t)
}

func TestCodeJustBeforeExpiry(t *testing.T) {
	e := webtest.New(t)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	code := e.LastCode("+" + webtest.USPhone)
	e.Clock.Advance(5*time.Minute - time.Second)
	e.Verify(webtest.USPhone, code).ExpectOK(t)
}

func TestResendSupersedesAndCooldown(t *testing.T) {
	e := webtest.New(t)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	first := e.LastCode("+" + webtest.USPhone)
	r := e.JSON(webtest.LoginParams(webtest.USPhone))
	r.ExpectFail(t, "RATELIMIT")
	if r.String("retry_after") != "30" {
		t.Errorf("retry_after = %s, want 30", r.String("retry_after"))
	}
	e.Clock.Advance(20 * time.Second)
	if r := e.JSON(webtest.LoginParams(webtest.USPhone)); r.String("retry_after") != "10" {
		t.Errorf("retry_after after 20 s = %s, want 10", r.String("retry_after"))
	}
	e.Clock.Advance(10 * time.Second)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	second := e.LastCode("+" + webtest.USPhone)
	if first != second {
		e.Verify(webtest.USPhone, first).ExpectFail(t, "BADCODE") // the old code is superseded
	}
	e.Verify(webtest.USPhone, second).ExpectOK(t)
}

// Consecutive failures are counted per phone across resends; ten lock the
// number for an hour, for both steps.
func TestFailuresSurviveResendAndLock(t *testing.T) {
	e := webtest.New(t)
	fail := func(n int) {
		t.Helper()
		e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
		bad := webtest.WrongCode(e.LastCode("+" + webtest.USPhone))
		for i := 0; i < n; i++ {
			e.Verify(webtest.USPhone, bad).ExpectFail(t, "BADCODE")
		}
		e.Clock.Advance(31 * time.Second)
	}
	fail(4)
	fail(4)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	code := e.LastCode("+" + webtest.USPhone)
	e.Verify(webtest.USPhone, webtest.WrongCode(code)).ExpectFail(t, "BADCODE") // 9th
	r := e.Verify(webtest.USPhone, webtest.WrongCode(code))                     // 10th
	r.ExpectFail(t, "LOCKED")
	if r.String("retry_after") != "3600" {
		t.Errorf("retry_after = %s", r.String("retry_after"))
	}
	// Locked: even the right code is refused, and no new code is sent.
	e.Verify(webtest.USPhone, code).ExpectFail(t, "LOCKED")
	e.Clock.Advance(time.Minute)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectFail(t, "LOCKED")
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'phone_locked' AND phone = ?", "+"+webtest.USPhone); n != 1 {
		t.Errorf("%d phone_locked entries", n)
	}
	// Another number is not affected.
	e.JSON(webtest.LoginParams(webtest.FRPhone)).ExpectOK(t)
	// After the hour, sign-in works again.
	e.Clock.Advance(time.Hour)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	e.Verify(webtest.USPhone, e.LastCode("+"+webtest.USPhone)).ExpectOK(t)
}

// A success resets the consecutive-failure count.
func TestSuccessResetsFailures(t *testing.T) {
	e := webtest.New(t)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	code := e.LastCode("+" + webtest.USPhone)
	for i := 0; i < 4; i++ {
		e.Verify(webtest.USPhone, webtest.WrongCode(code)).ExpectFail(t, "BADCODE")
	}
	e.Verify(webtest.USPhone, code).ExpectOK(t)
	if n := e.Count("SELECT COUNT(*) FROM phone_guards WHERE phone LIKE ? AND failures > 0", "+"+webtest.USPhone+" %"); n != 0 {
		t.Errorf("failures = %d after a success", n)
	}
}

func TestTestNumbers(t *testing.T) {
	// +1 555 numbers are fictional: possible but not valid, which is what
	// test numbers are for.
	e := webtest.New(t, webtest.WithArgs("--test-numbers", "+1 555 010 0999:12345678, 447700900123:87654321"))
	for i := 0; i < 12; i++ { // asking for the code is never throttled
		e.JSON(webtest.LoginParams("15550100999")).ExpectOK(t)
	}
	if n := e.Count("SELECT COUNT(*) FROM outbox"); n != 0 {
		t.Errorf("%d messages queued for a test number", n)
	}
	e.Verify("15550100999", "11111111").ExpectFail(t, "BADCODE")
	r := e.Verify("15550100999", "12345678")
	r.ExpectOK(t)
	if r.String("phone") != "15550100999" {
		t.Errorf("reply %s", r.Body)
	}
	e.Verify("+44 7700 900123", "87654321").ExpectOK(t)
	// A number that is not a test number still has to be valid.
	e.JSON(webtest.LoginParams("15550100998")).ExpectFail(t, "BADPHONE")
	if strings.Contains(e.Logs(), "assigned range") {
		t.Error("fictional test numbers drew the warning for real ones")
	}
}

func TestDemoCodeOffByDefault(t *testing.T) {
	e := webtest.New(t)
	if e.Config.DemoCode != "" {
		t.Fatal("demo-code mode is on by default")
	}
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
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
	if got := home.HTML(t).Find("title").Text(); got != "Roster" {
		t.Errorf("the home page is titled %q", got)
	}
}

func TestDemoCodeMode(t *testing.T) {
	e := webtest.New(t, webtest.WithArgs("--demo-code", "42424242"))
	if !strings.Contains(e.Logs(), "DEMO-CODE MODE IS ON") {
		t.Error("no warning at start")
	}
	e.JSON(webtest.LoginParams(webtest.FRPhone)).ExpectOK(t)
	if n := e.Count("SELECT COUNT(*) FROM outbox"); n != 0 {
		t.Errorf("demo mode sent %d messages", n)
	}
	e.Verify(webtest.FRPhone, "11111111").ExpectFail(t, "BADCODE")
	e.Verify(webtest.FRPhone, "42424242").ExpectOK(t)
	// The public page does not tell the world that one code opens every account.
	home := e.Do(httptest.NewRequest(http.MethodGet, "/", nil))
	if strings.Contains(string(home.Body), "demo-banner") || strings.Contains(strings.ToLower(string(home.Body)), "demo") {
		t.Error("the public start page announces demo-code mode")
	}
}

func TestBlockedUserCannotSignIn(t *testing.T) {
	e := webtest.New(t)
	tok := e.SignIn(webtest.USPhone, "d1")
	until := e.Clock.Now().Add(24 * time.Hour).UnixMilli()
	if err := e.Server.DB().Write.Exec("UPDATE users SET blocked_until = ?", until).Error; err != nil {
		t.Fatal(err)
	}
	e.JSON(map[string]any{"op": "setnotify", "token": tok, "notifytoken": "x"}).ExpectFail(t, "AUTHFAIL")
	e.Clock.Advance(time.Minute)
	// Asking for a code and a wrong code answer as for anyone else: only
	// the right code reveals the block.
	blocked := e.JSON(webtest.LoginParams(webtest.USPhone))
	unknown := e.JSON(webtest.LoginParams(webtest.FRPhone))
	blocked.ExpectOK(t)
	if string(blocked.Body) != string(unknown.Body) {
		t.Errorf("a blocked number answers %s, an unknown one %s", blocked.Body, unknown.Body)
	}
	code := e.LastCode("+" + webtest.USPhone)
	wrongBlocked := e.Verify(webtest.USPhone, webtest.WrongCode(code))
	wrongUnknown := e.Verify(webtest.FRPhone, webtest.WrongCode(e.LastCode("+"+webtest.FRPhone)))
	wrongBlocked.ExpectFail(t, "BADCODE")
	if string(wrongBlocked.Body) != string(wrongUnknown.Body) {
		t.Errorf("a wrong code: blocked %s, unknown %s", wrongBlocked.Body, wrongUnknown.Body)
	}
	e.Verify(webtest.USPhone, code).ExpectFail(t, "BLOCKED")
	e.Clock.Advance(24 * time.Hour)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	e.Verify(webtest.USPhone, e.LastCode("+"+webtest.USPhone)).ExpectOK(t)
}

func TestLogoutRevokesOnlyThatToken(t *testing.T) {
	e := webtest.New(t)
	phone := webtest.USPhone
	a := e.SignIn(phone, "phone-a")
	e.Clock.Advance(time.Minute)
	b := e.SignIn(phone, "tablet-b")
	e.SetNotify(a).ExpectOK(t)
	e.SetNotify(b).ExpectOK(t)

	e.JSON(map[string]any{"op": "logout", "token": a}).ExpectOK(t)
	e.SetNotify(a).ExpectFail(t, "AUTHFAIL")
	e.SetNotify(b).ExpectOK(t) // the other device is still signed in

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
	first := e.SignIn(webtest.USPhone, "phone-a")
	e.Clock.Advance(time.Minute)
	second := e.SignIn(webtest.USPhone, "phone-a")
	e.SetNotify(first).ExpectFail(t, "AUTHFAIL")
	e.SetNotify(second).ExpectOK(t)
	if n := e.Count("SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL"); n != 1 {
		t.Errorf("%d live sessions, want 1", n)
	}
}

// Every step of a sign-in is in the audit log with phone, IP and user agent.
func TestAuthEventsAreAudited(t *testing.T) {
	e := webtest.New(t)
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(webtest.MustJSON(t, webtest.LoginParams(webtest.USPhone))))
	req.Header.Set("User-Agent", "Roster-Test/1.0")
	e.Do(req).ExpectOK(t)
	code := e.LastCode("+" + webtest.USPhone)
	e.Verify(webtest.USPhone, webtest.WrongCode(code)).ExpectFail(t, "BADCODE")
	tok := e.SignIn(webtest.FRPhone, "d")
	e.JSON(map[string]any{"op": "logout", "token": tok}).ExpectOK(t)

	for typ, phone := range map[string]string{
		"code_requested": "+" + webtest.USPhone, "code_sent": "+" + webtest.USPhone, "code_failed": "+" + webtest.USPhone,
		"code_verified": "+" + webtest.FRPhone, "user_created": "+" + webtest.FRPhone, "token_issued": "+" + webtest.FRPhone,
		"token_revoked": "+" + webtest.FRPhone,
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

// The random tokens keep the formats that apps and browsers hold: an app's
// access token is 64 hex characters, the dashboard's CSRF token 43 base64url
// ones.
func TestTokenFormats(t *testing.T) {
	e := webtest.New(t)
	if tok := e.SignIn(webtest.USPhone, "phone"); !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(tok) {
		t.Errorf("app token %q", tok)
	}
	if a := e.AdminLogin("alice", "owner"); !regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).MatchString(a.CSRF) {
		t.Errorf("CSRF token %q", a.CSRF)
	}
}
