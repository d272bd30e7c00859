package web_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/models/pgtest"
	"roster/web"
	"roster/web/webtest"
)

// freezeLength is how long the frozen-database tests keep PostgreSQL from
// answering: a request still waiting then has waited for the database
// instead of its own deadline.
const freezeLength = 30 * time.Second

// TestFrozenPostgresAnswersBusy: while PostgreSQL answers nothing (a frozen
// server, a stalled network), reads on open connections, writes, and
// requests that need a new connection all end at --request-timeout with
// BUSY and retry_after, instead of waiting for the server to come back.
func TestFrozenPostgresAnswersBusy(t *testing.T) {
	proxy := pgtest.NewProxy(t, pgtest.Fresh(t))
	e := webtest.New(t, webtest.WithArgs("--otp-ip-hourly", "0", "--database-url", proxy.URL(), "--request-timeout", "1s",
		"--database-conns", "2"), // fewer connections than requests: some wait for one
		func(_ *web.Config, o *web.Options) { o.Getenv = clusterKeys })
	token := e.SignIn("12015550131", "phone")
	e.GetContacts(t, token, map[string]any{}) // connections are open and idle

	proxy.Freeze()
	thaw := time.AfterFunc(freezeLength, proxy.Thaw)
	defer thaw.Stop()
	defer proxy.Thaw()
	requests := map[string]map[string]any{
		"read":  {"op": "getcontacts", "token": token},
		"write": {"op": "profile", "token": token, "name": "Frozen"},
		"code":  {"op": "login", "appid": "test.app", "phone": "12015550132"},
	}
	var wg sync.WaitGroup
	for name, params := range requests {
		for i := range 3 { // more at once than idle connections: some dial
			wg.Go(func() {
				start := time.Now()
				r := e.JSON(params)
				took := time.Since(start)
				if took > freezeLength/2 {
					t.Errorf("%s %d: answered after %s, when the database came back", name, i, took)
				}
				if r.String("error") != "BUSY" || r.String("retry_after") == "" {
					t.Errorf("%s %d: want BUSY with retry_after, got %s", name, i, r.Body)
				}
			})
		}
	}
	wg.Wait()

	// Back, the database serves the same requests: no connection the
	// freeze broke is handed out again.
	proxy.Thaw()
	for range 3 {
		e.GetContacts(t, token, map[string]any{})
		e.SetProfile(t, token, map[string]any{"name": "Thawed"})
	}
}

// startFrozen starts Roster against a PostgreSQL that accepts connections
// and never answers, and returns the start's error and how long it took.
func startFrozen(t *testing.T, ctx context.Context) (time.Duration, error) {
	proxy := pgtest.NewProxy(t, pgtest.Fresh(t))
	proxy.Freeze()
	thaw := time.AfterFunc(freezeLength, proxy.Thaw)
	defer thaw.Stop()
	cfg, err := web.ParseConfig("roster", []string{"--data-dir", t.TempDir(), "--database-url", proxy.URL()},
		func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	srv, err := web.New(ctx, cfg, discardLog(), web.Options{Getenv: clusterKeys, BcryptCost: 4})
	if err == nil {
		srv.Close()
		t.Fatal("started on a database that never answered")
	}
	return time.Since(start), err
}

// TestStartOnFrozenPostgresEndsWithItsContext: a start waiting for a
// PostgreSQL that never answers ends when its context does, as SIGTERM
// ends main's.
func TestStartOnFrozenPostgresEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(time.Second, cancel)
	took, err := startFrozen(t, ctx)
	if took > freezeLength/2 {
		t.Errorf("the start ended after %s, when the database came back: %v", took, err)
	}
}

// TestStartOnFrozenPostgresTimesOut: without a signal, the start gives up
// after its connect timeout and says the database did not answer.
func TestStartOnFrozenPostgresTimesOut(t *testing.T) {
	took, err := startFrozen(t, t.Context())
	if took > freezeLength/2 {
		t.Errorf("the start ended after %s, when the database came back: %v", took, err)
	}
	if !strings.Contains(err.Error(), "no answer within") {
		t.Errorf("the error does not say what failed: %v", err)
	}
}

// TestRestartingPostgresAnswersBusy: while PostgreSQL restarts (every
// connection lost, new ones refused), requests answer BUSY with
// retry_after, not INTERNAL; once it is back they are served.
func TestRestartingPostgresAnswersBusy(t *testing.T) {
	proxy := pgtest.NewProxy(t, pgtest.Fresh(t))
	e := webtest.New(t, webtest.WithArgs("--otp-ip-hourly", "0", "--database-url", proxy.URL()),
		func(_ *web.Config, o *web.Options) { o.Getenv = clusterKeys })
	token := e.SignIn("12015550133", "phone")
	e.GetContacts(t, token, map[string]any{}) // connections are open and idle

	proxy.Stop()
	for name, params := range map[string]map[string]any{
		"read":  {"op": "getcontacts", "token": token},
		"write": {"op": "profile", "token": token, "name": "Restarting"},
		"code":  {"op": "login", "appid": "test.app", "phone": "12015550134"},
	} {
		for i := range 3 {
			if r := e.JSON(params); r.String("error") != "BUSY" || r.String("retry_after") == "" {
				t.Errorf("%s %d: want BUSY with retry_after, got %s", name, i, r.Body)
			}
		}
	}
	if !strings.Contains(e.Logs(), "could not be reached") {
		t.Error("the operator is not told why requests answer BUSY")
	}
	proxy.Start()
	e.GetContacts(t, token, map[string]any{})
	e.SetProfile(t, token, map[string]any{"name": "Restarted"})
}

// TestStopOnFrozenPostgres: a server whose PostgreSQL stopped answering
// still stops when told to (SIGTERM cancels Serve's context): its
// background workers' waits for the database end with them.
func TestStopOnFrozenPostgres(t *testing.T) {
	proxy := pgtest.NewProxy(t, pgtest.Fresh(t))
	e := webtest.New(t, webtest.WithArgs("--otp-ip-hourly", "0", "--database-url", proxy.URL(), "--shutdown-timeout", "1s"),
		func(_ *web.Config, o *web.Options) { o.Getenv = clusterKeys })
	e.JSON(webtest.LoginParams("12015550135")).ExpectOK(t) // a code for the worker to send
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	proxy.Freeze()
	thaw := time.AfterFunc(freezeLength, proxy.Thaw)
	defer thaw.Stop()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.Server.Serve(ctx, ln) }()
	e.Server.Worker().Wake()
	time.Sleep(500 * time.Millisecond) // the workers are waiting for the database
	start := time.Now()
	cancel()
	<-done
	if took := time.Since(start); took > freezeLength/2 {
		t.Errorf("Serve returned %s after it was told to stop, when the database came back", took)
	}
}

// TestEventStreamOnFrozenPostgres: opening an event stream while
// PostgreSQL does not answer ends at --request-timeout with 503 and
// Retry-After, instead of waiting for the database to check the token.
func TestEventStreamOnFrozenPostgres(t *testing.T) {
	proxy := pgtest.NewProxy(t, pgtest.Fresh(t))
	e := webtest.New(t, webtest.WithArgs("--otp-ip-hourly", "0", "--database-url", proxy.URL(), "--request-timeout", "1s"),
		func(_ *web.Config, o *web.Options) { o.Getenv = clusterKeys })
	token := e.SignIn("12015550136", "phone")
	base := e.Listen()

	proxy.Freeze()
	thaw := time.AfterFunc(freezeLength, proxy.Thaw)
	defer thaw.Stop()
	defer proxy.Thaw()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/api/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := (&http.Client{Timeout: freezeLength / 2}).Do(req)
	if err != nil {
		t.Fatalf("no answer while the database is frozen: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Errorf("status %d, Retry-After %q; want 503 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}
}
