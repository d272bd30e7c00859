// Package webtest runs a real Roster (real Fiber app, real SQLite file built
// by the real migrations) inside tests, with a fake clock, and offers
// scenario tests in the style of PocketBase's tests.ApiScenario.
package webtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/models"
	"roster/models/pgtest"
	"roster/web"
)

// StartUnix is the fake clock's starting time in every test (2026-03-02
// 10:00 UTC), in unix seconds.
const StartUnix = 1772445600

// Start is the fake clock's starting time in every test.
func Start() time.Time { return time.Unix(StartUnix, 0).UTC() }

// Env is one running Roster for one test.
type Env struct {
	T       testing.TB
	Server  *web.Server
	Clock   *models.FakeClock
	Config  web.Config
	DataDir string
	logs    *syncBuffer
}

// Option changes an Env before it starts.
type Option func(*web.Config, *web.Options)

// WithArgs passes command-line flags, as an operator would.
func WithArgs(args ...string) Option {
	return func(c *web.Config, _ *web.Options) {
		cfg, err := web.ParseConfig("roster", append(append([]string{"--data-dir", c.DataDir}, defaultArgs()...), args...), noEnv, io.Discard)
		if err != nil {
			panic("webtest.WithArgs: " + err.Error())
		}
		*c = cfg
	}
}

// WithOptions changes the injected dependencies.
func WithOptions(f func(*web.Options)) Option {
	return func(_ *web.Config, o *web.Options) { f(o) }
}

func noEnv(string) string { return "" }

// defaultArgs are the flags every test server starts with; a test's own
// WithArgs come after them and win. A minute of request deadline: the 5 s
// default is a production choice that a busy shared test machine can
// exceed, and the tests of the deadline set a short one themselves.
func defaultArgs() []string { return []string{"--request-timeout", "1m"} }

// New starts a Roster with default configuration in a temporary directory.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	dir := t.TempDir()
	cfg, err := web.ParseConfig("roster", append([]string{"--data-dir", dir, "--addr", "127.0.0.1:0"}, defaultArgs()...), noEnv, io.Discard)
	if err != nil {
		t.Fatalf("default config: %v", err)
	}
	clock := models.NewFakeClock(Start())
	o := web.Options{Clock: clock, Getenv: noEnv, BcryptCost: 4} // bcrypt's minimum: tests are not about its cost
	for _, opt := range opts {
		opt(&cfg, &o)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if pgtest.Selected() && o.Database == nil && cfg.DatabaseURL == "" { // a test that names its database keeps it
		db, err := models.OpenPostgres(context.Background(), pgtest.Fresh(t), models.PostgresPool{MaxOpen: 8, MaxIdle: 8}, log)
		if err != nil {
			t.Fatalf("open PostgreSQL: %v", err)
		}
		o.Database = db
	}
	srv, err := web.New(context.Background(), cfg, log, o)
	if err != nil {
		t.Fatalf("start roster: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if t.Failed() && os.Getenv("ROSTER_TEST_LOGS") != "" {
			t.Logf("the server's log:\n%s", logs.String())
		}
	})
	return &Env{T: t, Server: srv, Clock: clock, Config: cfg, DataDir: dir, logs: logs}
}

// Logs is everything the server logged so far.
func (e *Env) Logs() string { return e.logs.String() }

// Do sends a request through the real app.
func (e *Env) Do(req *http.Request) *Response {
	e.T.Helper()
	res, err := e.Server.App().Test(req, -1)
	if err != nil {
		e.T.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		e.T.Fatalf("read body: %v", err)
	}
	return &Response{Status: res.StatusCode, Header: res.Header, Body: body}
}

// Metrics scrapes /metrics as Prometheus would on --metrics-addr.
func (e *Env) Metrics() *Response {
	e.T.Helper()
	res, err := e.Server.MetricsApp().Test(httptest.NewRequest(http.MethodGet, "/metrics", nil), -1)
	if err != nil {
		e.T.Fatalf("scrape metrics: %v", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return &Response{Status: res.StatusCode, Header: res.Header, Body: body}
}

// JSON posts params as a JSON object to the bare host, as current clients do.
func (e *Env) JSON(params map[string]any) *Response {
	e.T.Helper()
	b, err := json.Marshal(params)
	if err != nil {
		e.T.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	return e.Do(req)
}

// Query sends params in a GET query string to /api.php, as older clients do.
func (e *Env) Query(params map[string]string) *Response {
	e.T.Helper()
	return e.Do(httptest.NewRequest(http.MethodGet, "/api.php?"+encode(params), nil))
}

// Form posts params URL-encoded to path.
func (e *Env) Form(path string, params map[string]string) *Response {
	e.T.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(encode(params)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.Do(req)
}

func encode(params map[string]string) string {
	v := url.Values{}
	for k, s := range params {
		v.Set(k, s)
	}
	return v.Encode()
}

// LastCode returns the code in the newest console message to the E.164
// number, as a developer reads it on the outbox page. It runs the delivery
// worker first, as the background would.
func (e *Env) LastCode(e164 string) string {
	e.T.Helper()
	e.Server.Worker().RunOnce(context.Background())
	var body string
	err := e.Server.DB().Read.Raw("SELECT body FROM outbox WHERE recipient = ? ORDER BY id DESC LIMIT 1", e164).Scan(&body).Error
	if err != nil || body == "" {
		e.T.Fatalf("no message to %s in the outbox (err %v)", e164, err)
	}
	code, _, _ := strings.Cut(body, " ")
	return code
}

// SignIn signs a number in through both login steps and returns the token.
func (e *Env) SignIn(phoneDigits, device string) string {
	e.T.Helper()
	r := e.JSON(map[string]any{"op": "login", "appid": "test.app", "phone": phoneDigits})
	r.ExpectOK(e.T)
	code := e.LastCode("+" + phoneDigits)
	r = e.JSON(map[string]any{"op": "login", "appid": "test.app", "phone": phoneDigits, "otp": code, "device": device, "dt": "1"})
	r.ExpectOK(e.T)
	return r.String("token")
}

// Count runs a SELECT COUNT(*) query.
func (e *Env) Count(query string, args ...any) int64 {
	e.T.Helper()
	// Syncs that changed nothing queue their records, and refusals answered
	// from memory their audit entries: write them first (the dashboard does
	// for syncs), so a count sees every request made before it.
	if _, err := e.Server.Contacts().FlushSyncs(e.T.Context()); err != nil {
		e.T.Fatalf("flush sync records: %v", err)
	}
	if err := e.Server.SignIn().FlushRefusals(e.T.Context()); err != nil {
		e.T.Fatalf("flush the fraud guard's refusals: %v", err)
	}
	var n int64
	if err := e.Server.DB().Read.Raw(query, args...).Scan(&n).Error; err != nil {
		e.T.Fatalf("%s: %v", query, err)
	}
	return n
}

// Response is a received answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	parsed map[string]any
}

// Fields parses the body as a JSON object.
func (r *Response) Fields() map[string]any {
	if r.parsed == nil {
		dec := json.NewDecoder(bytes.NewReader(r.Body))
		dec.UseNumber()
		if err := dec.Decode(&r.parsed); err != nil {
			r.parsed = map[string]any{}
		}
	}
	return r.parsed
}

// String returns a top-level field as text ("" if absent).
func (r *Response) String(field string) string {
	switch v := r.Fields()[field].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case nil:
		return ""
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// ExpectOK fails the test unless this is an OK envelope.
func (r *Response) ExpectOK(t testing.TB) {
	t.Helper()
	if r.Status != http.StatusOK || r.String("result") != "OK" {
		t.Fatalf("expected an OK envelope, got %d %s", r.Status, r.Body)
	}
}

// ExpectFail fails the test unless this is a FAIL envelope with the code.
func (r *Response) ExpectFail(t testing.TB, code string) {
	t.Helper()
	if r.Status != http.StatusOK || r.String("result") != "FAIL" || r.String("error") != code {
		t.Fatalf("expected FAIL %s, got %d %s", code, r.Status, r.Body)
	}
	if r.String("errmsg") == "" && code != "NOOP" {
		t.Fatalf("FAIL %s without errmsg: %s", code, r.Body)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Listen serves the app on a real loopback listener until the test ends and
// returns its base URL ("http://127.0.0.1:PORT").
func (e *Env) Listen() string {
	e.T.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.T.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Server.Serve(ctx, ln) }()
	e.T.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			e.T.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// FanOut runs the background fan-out of notices until nothing is left, as
// the background worker would.
func (e *Env) FanOut() {
	e.T.Helper()
	for {
		n, err := e.Server.Events().RunOnce(context.Background())
		if err != nil {
			e.T.Fatalf("fan-out: %v", err)
		}
		if n == 0 {
			return
		}
	}
}

// SQLiteOnly skips a test of something only a SQLite deployment has (its
// file, its data directory's generated keys, VACUUM INTO) when the suite
// runs on PostgreSQL.
func SQLiteOnly(t testing.TB, why string) {
	t.Helper()
	if pgtest.Selected() {
		t.Skip("SQLite only: " + why)
	}
}
