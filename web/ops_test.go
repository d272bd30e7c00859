// What an operator runs into, end to end through the binary's own entry
// points: health and readiness, config and secrets, metrics, pruning,
// shutdown, the body limit and what the logs never hold. One room
// because the tests are short and share serve(), which runs the real
// listener rather than app.Test.

package web_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"roster/web"
	"roster/web/webtest"
)

func TestHealth(t *testing.T) {
	webtest.Run(t, []webtest.Scenario{
		{Name: "livez", URL: "/livez", ExpectedContent: []string{"ok"}},
		{Name: "readyz", URL: "/readyz", ExpectedContent: []string{"ready"}},
		{
			Name: "readyz without a database",
			Request: func(t testing.TB, e *webtest.Env) *http.Request {
				_ = e.Server.DB().Close()
				return httptest.NewRequest(http.MethodGet, "/readyz", nil)
			},
			ExpectedStatus: http.StatusServiceUnavailable,
		},
	})
}

// /readyz, which anyone can reach, answers its status alone; why the
// instance is not ready is on the dashboard's overview.
func TestReadyzSaysOnlyItsStatus(t *testing.T) {
	webtest.SQLiteOnly(t, "a database file deleted under the server")
	e := webtest.New(t)
	a := e.AdminLogin("alice", "viewer")
	page := a.Get("/admin/")
	if got := page.TestIDText(t, "health-status"); !strings.HasPrefix(got, "ready") || page.CountTestID(t, "health-problem") != 0 {
		t.Errorf("healthy: health %q with %d problems", got, page.CountTestID(t, "health-problem"))
	}
	os.Remove(filepath.Join(e.DataDir, "roster.db"))
	r := e.Do(httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if r.Status != http.StatusServiceUnavailable || string(r.Body) != "not ready" {
		t.Errorf("/readyz %d %q", r.Status, r.Body)
	}
	page = a.Get("/admin/")
	if got := page.TestIDText(t, "health-problem"); !strings.Contains(got, "database file") {
		t.Errorf("the overview says %q", got)
	}
}

// An internal failure answers with the envelope and a generic message; the
// details go to the log with the request id.
func TestInternalErrorIsNotLeaked(t *testing.T) {
	e := webtest.New(t)
	_ = e.Server.DB().Close()
	r := e.JSON(webtest.LoginParams(webtest.USPhone))
	r.ExpectFail(t, "INTERNAL")
	if strings.Contains(strings.ToLower(string(r.Body)), "sql") || strings.Contains(string(r.Body), "closed") {
		t.Errorf("internals in the reply: %s", r.Body)
	}
	id := r.Header.Get("X-Request-ID")
	if id == "" || !strings.Contains(e.Logs(), "request_id="+id) {
		t.Errorf("the failure is not logged with its request id %q", id)
	}
}

func TestPages(t *testing.T) {
	webtest.Run(t, []webtest.Scenario{
		{
			Name: "start page", URL: "/", ExpectedContent: []string{`data-testid="home"`, "/api.php"},
			After: func(t testing.TB, e *webtest.Env, r *webtest.Response) {
				if r.Header.Get("Content-Type") != "text/html; charset=utf-8" {
					t.Errorf("content type %q", r.Header.Get("Content-Type"))
				}
				if r.Header.Get("X-Frame-Options") != "DENY" || r.Header.Get("Content-Security-Policy") == "" {
					t.Errorf("security headers missing: %v", r.Header)
				}
			},
		},
		{Name: "stylesheet", URL: "/static/roster.css", ExpectedContent: []string{":root"}},
		{Name: "the icon", URL: "/static/favicon.svg", ExpectedContent: []string{"<svg"},
			After: func(t testing.TB, e *webtest.Env, r *webtest.Response) {
				if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "image/svg+xml") {
					t.Errorf("content type %q", ct)
				}
			}},
		{Name: "favicon.ico is the icon", URL: "/favicon.ico", ExpectedStatus: http.StatusMovedPermanently,
			After: func(t testing.TB, e *webtest.Env, r *webtest.Response) {
				if loc := r.Header.Get("Location"); loc != "/static/favicon.svg" {
					t.Errorf("Location %q", loc)
				}
			}},
		{Name: "unknown page", URL: "/nowhere", ExpectedStatus: http.StatusNotFound, ExpectedContent: []string{`data-testid="error-page"`}},
		{Name: "request id is generated", URL: "/livez", Headers: map[string]string{"X-Request-ID": "bad id\nforged=1"},
			After: func(t testing.TB, e *webtest.Env, r *webtest.Response) {
				if id := r.Header.Get("X-Request-ID"); id == "" || strings.ContainsAny(id, " \n=") {
					t.Errorf("request id %q", id)
				}
			}},
		{Name: "a plain incoming request id is kept", URL: "/livez", Headers: map[string]string{"X-Request-ID": "abc-123"},
			After: func(t testing.TB, e *webtest.Env, r *webtest.Response) {
				if id := r.Header.Get("X-Request-ID"); id != "abc-123" {
					t.Errorf("request id %q", id)
				}
			}},
	})
}

// serve runs the server on a loopback listener; the test stops it with
// cancel and reads Serve's result from done.
func serve(t *testing.T, e *webtest.Env) (addr string, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	go func() { ch <- e.Server.Serve(ctx, ln) }()
	return ln.Addr().String(), cancel, ch
}

// Shutdown lets an in-flight request finish, then Serve returns.
func TestGracefulShutdown(t *testing.T) {
	e := webtest.New(t)
	addr, cancel, done := serve(t, e)
	base := "http://" + addr

	// A slow client: headers now, the body after shutdown has begun.
	pr, pw := io.Pipe()
	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		res, err := http.Post(base+"/", "application/json", pr)
		if err != nil {
			got <- result{err: err}
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		got <- result{body: string(b)}
	}()
	if _, err := pw.Write([]byte(`{"op":"login","appid":"a",`)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the request is now in flight
	cancel()
	time.Sleep(100 * time.Millisecond)
	_, _ = pw.Write([]byte(`"phone":"` + webtest.USPhone + `"}`))
	pw.Close()
	r := <-got
	if r.err != nil || !strings.Contains(r.body, `"result":"OK"`) {
		t.Errorf("in-flight request: %v %s", r.err, r.body)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after shutdown")
	}
	if _, err := http.Get(base + "/livez"); err == nil {
		t.Error("still accepting connections after shutdown")
	}
}

func TestConfig(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	t.Run("defaults", func(t *testing.T) {
		cfg, err := web.ParseConfig("roster", nil, env(nil), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Addr != ":8080" || cfg.DataDir != "./data" || cfg.BaseURL != "http://localhost:8080" || cfg.DemoCode != "" || cfg.LogFormat != "text" {
			t.Errorf("defaults: %+v", cfg)
		}
		if cfg.OTP.TTL != 5*time.Minute || cfg.OTP.MaxAttempts != 5 || cfg.OTP.LockAfter != 10 || cfg.TokenLifetime != 365*24*time.Hour {
			t.Errorf("policy defaults: %+v", cfg.OTP)
		}
	})
	t.Run("environment, and flags over it", func(t *testing.T) {
		cfg, err := web.ParseConfig("roster", []string{"--addr", "127.0.0.1:9000"}, env(map[string]string{
			"ROSTER_ADDR": ":7000", "ROSTER_DATA_DIR": "/srv/roster", "ROSTER_LOG_FORMAT": "json",
			"ROSTER_TEST_NUMBERS": "+1 555 010 0999:12345678", "ROSTER_DEMO_CODE": "43214321", "ROSTER_BASE_URL": "https://chat.example/",
		}), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Addr != "127.0.0.1:9000" || cfg.DataDir != "/srv/roster" || cfg.LogFormat != "json" || cfg.DemoCode != "43214321" {
			t.Errorf("%+v", cfg)
		}
		if cfg.TestNumbers["+15550100999"] != "12345678" || cfg.BaseURL != "https://chat.example" {
			t.Errorf("test numbers %v, base %q", cfg.TestNumbers, cfg.BaseURL)
		}
	})
	for _, bad := range [][]string{
		{"--log-format", "xml"}, {"--addr", "nonsense"}, {"--test-numbers", "12015550123"},
		{"--test-numbers", "abc:12345678"}, {"--demo-code", "12ab"}, {"--demo-code", "123456"}, {"--test-numbers", "+15550100999:123456"}, {"--otp-ttl", "-1s"},
		{"--trusted-proxies", "not-an-ip"}, {"--base-url", "ftp://x"}, {"--otp-channel", "pigeon"}, {"extra"},
		{"--log-level", "loud"}, {"--client-country-header", "CF-IPCountry"},
	} {
		t.Run("rejects "+strings.Join(bad, " "), func(t *testing.T) {
			if _, err := web.ParseConfig("roster", bad, env(nil), io.Discard); err == nil {
				t.Error("accepted")
			}
		})
	}
	t.Run("bad environment value names the variable", func(t *testing.T) {
		_, err := web.ParseConfig("roster", nil, env(map[string]string{"ROSTER_OTP_TTL": "soon"}), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "ROSTER_OTP_TTL") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("help lists flags with their variables", func(t *testing.T) {
		var out strings.Builder
		_, err := web.ParseConfig("roster", []string{"--help"}, env(nil), &out)
		if err == nil {
			t.Error("no ErrHelp")
		}
		for _, want := range []string{"--addr", "ROSTER_ADDR", "--data-dir", "ROSTER_DATA_DIR", "--base-url", "--test-numbers",
			"ROSTER_TEST_NUMBERS", "--demo-code", "ROSTER_DEMO_CODE", "--log-format", "ROSTER_LOG_FORMAT", "--trusted-proxies"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("help lacks %s", want)
			}
		}
	})
	t.Run("redacted config holds no test codes", func(t *testing.T) {
		cfg, _ := web.ParseConfig("roster", []string{"--test-numbers", "+15550100999:98765432", "--demo-code", "43214321"}, env(nil), io.Discard)
		s := slogString(cfg)
		if strings.Contains(s, "98765432") || strings.Contains(s, "43214321") {
			t.Errorf("secret in %s", s)
		}
	})
}

func slogString(v any) string {
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("x", "v", v)
	return b.String()
}

func TestSecrets(t *testing.T) {
	dir := t.TempDir()
	k1, err := web.LoadSecret(dir, "otp", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "secrets", "otp.key"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	k2, err := web.LoadSecret(dir, "otp", "", nil)
	if err != nil || string(k1) != string(k2) || len(k1) != 32 {
		t.Errorf("secret not kept: %x %x %v", k1, k2, err)
	}
	if _, err := web.LoadSecret(dir, "otp", "short", nil); err == nil {
		t.Error("a short secret from the environment was accepted")
	}
	k3, err := web.LoadSecret(dir, "otp", strings.Repeat("s", 40), nil)
	if err != nil || string(k3) != strings.Repeat("s", 40) {
		t.Error("the environment does not win")
	}
	if err := os.WriteFile(filepath.Join(dir, "secrets", "bad.key"), []byte("zz"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := web.LoadSecret(dir, "bad", "", nil); err == nil {
		t.Error("a damaged key file was accepted")
	}
}

func TestMetrics(t *testing.T) {
	e := webtest.New(t)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectFail(t, "RATELIMIT")
	e.Query(map[string]string{"op": "invented-op-" + webtest.USPhone}).ExpectFail(t, "BADOP")
	r := e.Metrics()
	body := string(r.Body)
	for _, want := range []string{
		`roster_api_ops_total{op="login",result="OK"} 1`,
		`roster_api_ops_total{op="login",result="RATELIMIT"} 1`,
		`roster_api_ops_total{op="other",result="BADOP"} 1`,
		`roster_http_requests_total{method="POST",route="/",status="200"} 2`,
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "invented-op") {
		t.Error("an invented op name became a label")
	}
}

// Old sign-in records are pruned after the retention period; the audit log stays.
func TestPruneOldRecords(t *testing.T) {
	e := webtest.New(t, webtest.WithArgs("--retention", "48h"))
	e.SignIn(webtest.USPhone, "d")
	e.Clock.Advance(time.Hour)
	e.JSON(webtest.LoginParams(webtest.FRPhone)).ExpectOK(t) // pending, expires in 5 minutes
	e.Server.Prune(context.Background())
	if n := e.Count("SELECT COUNT(*) FROM otp_codes"); n != 2 {
		t.Fatalf("recent codes pruned: %d left", n)
	}
	e.Clock.Advance(49 * time.Hour)
	e.Server.Worker().RunOnce(context.Background())
	e.Server.Prune(context.Background())
	for _, table := range []string{"otp_codes", "outbox", "phone_guards"} {
		if n := e.Count("SELECT COUNT(*) FROM " + table); n != 0 {
			t.Errorf("%d rows left in %s", n, table)
		}
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log"); n == 0 {
		t.Error("the audit log was pruned")
	}
	if n := e.Count("SELECT COUNT(*) FROM sessions"); n != 1 {
		t.Error("sessions were pruned")
	}
}

// The audit log is pruned after --audit-retention (by its entries' last
// repeat), not --retention; younger entries stay.
func TestAuditLogPrunedAfterItsRetention(t *testing.T) {
	e := webtest.New(t, webtest.WithArgs("--retention", "48h", "--audit-retention", "720h"))
	first := e.Clock.Now().UnixMilli()
	e.SignIn(webtest.USPhone, "d")
	old := e.Count("SELECT COUNT(*) FROM audit_log WHERE at <= ?", first)
	e.Clock.Advance(700 * time.Hour)
	e.SignIn(webtest.FRPhone, "d")
	e.Server.Prune(context.Background())
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE at <= ?", first); old == 0 || n != old {
		t.Fatalf("%d of %d entries left, none older than the retention", n, old)
	}
	e.Clock.Advance(21 * time.Hour)
	e.JSON(webtest.LoginParams(webtest.FRPhone)).ExpectOK(t)
	e.Server.Prune(context.Background())
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE at <= ?", first); n != 0 {
		t.Errorf("%d entries older than 720h left", n)
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE at > ?", first); n == 0 {
		t.Error("entries younger than 720h were pruned")
	}
	// Entries within 30 days of the latest cannot be deleted at all.
	if err := e.Server.DB().Write.Exec("DELETE FROM audit_log").Error; err == nil {
		t.Error("recent audit entries could be deleted")
	}
}

// A client that connects and never sends a request does not hold shutdown
// past the grace period.
func TestShutdownClosesIdleStragglers(t *testing.T) {
	e := webtest.New(t, webtest.WithArgs("--shutdown-timeout", "300ms"))
	addr, cancel, done := serve(t, e)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("shutdown waited for a connection that never sent a request")
	}
	if !strings.Contains(e.Logs(), "closing connections still open") {
		t.Error("the forced close was not logged")
	}
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

// Codes appear in the log only on the console delivery line; tokens never.
func TestNoSecretsInLogs(t *testing.T) {
	e := webtest.New(t)
	tok := e.SignIn(webtest.USPhone, "d")
	e.SetNotify(tok).ExpectOK(t)
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
	var macs [][]byte
	if err := e.Server.DB().Read.Raw("SELECT code_mac FROM otp_codes").Scan(&macs).Error; err != nil || len(macs) == 0 {
		t.Fatalf("read the stored codes: %d, %v", len(macs), err)
	}
	for _, mac := range macs {
		if bytes.Contains(mac, []byte(code)) {
			t.Error("the code is stored in clear")
		}
	}
}

// Users without a phone hash (made before contact sync, or by other code)
// get one at start-up.
func TestBackfillHashes(t *testing.T) {
	e := webtest.NewPeople(t)
	const alicePhone, bobPhone = "12015550101", "12015550102"
	alice := e.SignIn(alicePhone, "a")
	e.SignIn(bobPhone, "b")
	e.Server.DB().Write.Exec("UPDATE users SET phone_hash = NULL")
	if got := e.GetContacts(t, alice, map[string]any{"phones": "+" + bobPhone}); len(got.Contacts) != 0 {
		t.Fatalf("found without a hash: %+v", got.Contacts)
	}
	if n, err := e.Server.Contacts().BackfillHashes(t.Context()); n != 2 || err != nil {
		t.Fatalf("backfilled %d %v", n, err)
	}
	if got := e.GetContacts(t, alice, map[string]any{"phones": "+" + bobPhone}); len(got.Contacts) != 1 || got.Contacts[0].Phone != bobPhone {
		t.Errorf("after backfill: %+v", got.Contacts)
	}
}
