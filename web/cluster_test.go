package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/models"
	"roster/models/pgtest"
	"roster/web"
	"roster/web/webtest"
)

// clusterKeys are the keys every instance of one deployment shares (from
// the environment on PostgreSQL).
func clusterKeys(k string) string {
	return map[string]string{
		"ROSTER_OTP_KEY":           "hex:" + strings.Repeat("11", 32),
		"ROSTER_CONTACTS_KEY":      "hex:" + strings.Repeat("22", 32),
		"ROSTER_COOKIE_HASH_KEY":   "hex:" + strings.Repeat("33", 32),
		"ROSTER_COOKIE_BLOCK_KEY":  "hex:" + strings.Repeat("44", 32),
		"ROSTER_ADMIN_PASSWORD":    "cluster-admin-password",
		"ROSTER_WEBHOOK_SECRET":    hookSecret,
		"ROSTER_TWILIO_AUTH_TOKEN": twilioToken,
	}[k]
}

// twoInstances starts two servers on one PostgreSQL database, each with a
// pool of its own, serving on loopback listeners. Like webtest.NewPeople,
// without the quotas per IP and per number prefix: the tests sign in many
// numbers of one test range from one address.
func twoInstances(t *testing.T, args ...string) (a, b *webtest.Env, urlA, urlB string) {
	t.Helper()
	url := pgtest.Fresh(t)
	start := func() *webtest.Env {
		db, err := models.OpenPostgres(t.Context(), url, models.PostgresPool{MaxOpen: 8, MaxIdle: 8}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		return webtest.New(t, webtest.WithArgs(append([]string{"--otp-ip-hourly", "0", "--otp-ip-daily", "0",
			"--otp-prefix-hourly", "0", "--otp-prefix-daily", "0"}, args...)...),
			func(_ *web.Config, o *web.Options) { o.Database, o.Getenv = db, clusterKeys })
	}
	a, b = start(), start()
	return a, b, a.Listen(), b.Listen()
}

// A join and a revocation on instance A reach a stream held on instance B
// through NOTIFY: B's poll of the deliveries and its heartbeat (which would
// also notice the revocation) are an hour and a minute here, so the event
// arriving and the stream closing within the test's waits show the
// notifications did it. (The waits are generous for a loaded machine.)
func TestLiveEventsCrossInstances(t *testing.T) {
	a, b, _, urlB := twoInstances(t, "--event-heartbeat", "1m", "--event-poll", "1h")
	alice := a.SignIn("12015550101", "a")
	a.GetContacts(t, alice, map[string]any{"phones": "+12015550102"})

	events, ended := openEventStream(t, urlB+"/api/events", alice)
	waitForStream(b)
	a.SignIn("12015550102", "b") // Bob joins, on A
	select {
	case line := <-events:
		if !strings.Contains(line, "12015550102") {
			t.Errorf("B's stream got %q", line)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the join on A did not reach the stream on B")
	}
	logout := time.Now()
	a.JSON(map[string]any{"op": "logout", "token": alice}).ExpectOK(t)
	select {
	case <-ended:
		t.Logf("B's stream closed %s after the logout on A", time.Since(logout).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("the logout on A did not close the stream on B")
	}
}

// Joins recorded at once on two instances, fanned out by both, all reach
// one live stream: a stream reads its deliveries after the last event id it
// sent, so an event that committed (or was fanned out) after one with a
// larger id would be skipped. Alice's book holds 30 numbers that join at
// once, half on each instance.
func TestLiveEventsInOrderAcrossInstances(t *testing.T) {
	a, b, _, urlB := twoInstances(t, "--event-heartbeat", "1m", "--fanout-chunk", "1")
	alice := a.SignIn("12015550101", "a")
	var joiners []string
	for i := range 30 {
		joiners = append(joiners, fmt.Sprintf("120155504%02d", i))
	}
	a.GetContacts(t, alice, map[string]any{"phones": "+" + strings.Join(joiners, ",+")})
	events, _ := openEventStream(t, urlB+"/api/events", alice)
	waitForStream(b)
	var wg sync.WaitGroup
	for i, p := range joiners {
		wg.Go(func() { []*webtest.Env{a, b}[i%2].SignIn(p, "j") })
	}
	wg.Wait()
	seen := map[string]bool{}
	deadline := time.After(30 * time.Second)
	for len(seen) < len(joiners) {
		select {
		case line := <-events:
			for _, p := range joiners {
				if strings.Contains(line, p) {
					seen[p] = true
				}
			}
		case <-deadline:
			t.Fatalf("the stream got %d of %d joins", len(seen), len(joiners))
		}
	}
}

// openEventStream reads an event stream's data lines until it ends.
func openEventStream(t *testing.T, url, token string) (<-chan string, <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("event stream: %d", res.StatusCode)
	}
	lines, ended := make(chan string, 16), make(chan struct{})
	go func() {
		defer close(ended)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				lines <- data
			}
		}
	}()
	return lines, ended
}

// --database-url: on PostgreSQL every generated key comes from the
// environment (an instance never makes one of its own), the password of
// the URL is never shown, and the SQLite-only commands say what to use
// instead.
func TestDatabaseURL(t *testing.T) {
	url := pgtest.Fresh(t)
	expectStartFailure(t, []string{"--database-url", url}, func(string) string { return "" },
		"ROSTER_OTP_KEY", "must come from the environment", "roster keys")
	if _, err := web.ParseConfig("roster", []string{"--database-url", "mysql://u:secret@h/db"}, func(string) string { return "" }, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "postgres://") || strings.Contains(err.Error(), "secret") {
		t.Errorf("a mysql URL: %v", err)
	}
	e := webtest.New(t, webtest.WithArgs("--database-url", url), func(_ *web.Config, o *web.Options) { o.Getenv = clusterKeys })
	if !e.Server.DB().Postgres() {
		t.Fatal("the server is not on PostgreSQL")
	}
	tok := e.SignIn(webtest.USPhone, "d")
	e.GetContacts(t, tok, map[string]any{"ts": 0})
	password := strings.SplitN(strings.TrimPrefix(url, "postgres://roster:"), "@", 2)[0]
	settings := body(e.AdminLogin("settings-reader", "owner").Get("/admin/settings"))
	if strings.Contains(e.Logs(), password) || strings.Contains(settings, password) {
		t.Error("the database password is in the log or on the settings page")
	}
	if !strings.Contains(settings, "postgres://redacted@") || !strings.Contains(settings, "set") {
		t.Error("the settings page does not show the database")
	}
	env := func(k string) string {
		if k == "ROSTER_DATABASE_URL" {
			return url
		}
		return ""
	}
	// roster admin reaches the same database.
	if err := web.AdminCommand(t.Context(), []string{"create", "olga", "--role", "viewer"}, env,
		strings.NewReader("a long enough password\n"), io.Discard); err != nil {
		t.Fatalf("roster admin on PostgreSQL: %v", err)
	}
	if r := e.Browser().Login("olga", "a long enough password"); r.Status != http.StatusSeeOther {
		t.Errorf("olga signs in: %d", r.Status)
	}
	if err := web.BackupCommand(t.Context(), []string{"--out", t.TempDir() + "/b.db"}, env, io.Discard); err == nil || !strings.Contains(err.Error(), "pg_dump") {
		t.Errorf("backup on PostgreSQL: %v", err)
	}
}

// The rules SQLite's single writer keeps hold across two instances: 50
// wrong codes sent at once, half to each, are exactly 5 tries of the code;
// a per-IP quota counts the requests of both, sent at once; 200 codes
// queued while both instances' senders run are each sent exactly once.
func TestRulesHoldAcrossInstances(t *testing.T) {
	a, b, _, _ := twoInstances(t, "--otp-ip-hourly", "3")
	envs := []*webtest.Env{a, b}
	a.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	bad := webtest.WrongCode(a.LastCode("+" + webtest.USPhone))
	var mu sync.Mutex
	answers := map[string]int{}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			r := envs[i%2].Verify(webtest.USPhone, bad)
			mu.Lock()
			answers[r.String("error")]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if n := a.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'code_failed'"); answers["BADCODE"] != 5 || n != 5 {
		t.Errorf("50 wrong codes over two instances: %v, %d code_failed entries; want exactly 5 tries", answers, n)
	}
	// The quota of 3 code requests an hour from one address: 1 above, 2
	// more, out of 10 asked for at once on both instances.
	ok := 0
	for i := range 10 {
		wg.Go(func() {
			if r := envs[i%2].JSON(webtest.LoginParams(fmt.Sprintf("120155502%02d", i))); r.String("result") == "OK" {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if ok != 2 {
		t.Errorf("%d of 10 code requests over two instances passed the rest of a per-IP quota of 3, want 2", ok)
	}

	// 200 codes, each sent once by one of the two senders (100 a country,
	// none verified: without the conversion watch, which would hold them).
	hook := webtest.NewFakeHTTP(t, webtest.Reply{Status: 204})
	c, d, _, _ := twoInstances(t, "--otp-channel", "webhook", "--webhook-url", hook.URL, "--otp-watch-window", "0")
	var phones []string
	for i := range 100 {
		phones = append(phones, fmt.Sprintf("120155501%02d", i), fmt.Sprintf("336123456%02d", i))
	}
	for i, p := range phones {
		[]*webtest.Env{c, d}[i%2].JSON(webtest.LoginParams(p)).ExpectOK(t)
	}
	deadline := time.Now().Add(30 * time.Second)
	for c.Count("SELECT COUNT(*) FROM outbox WHERE state <> 'sent'") > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	sent := map[string]int{}
	for _, r := range hook.Requests() {
		var msg struct {
			To string `json:"to"`
		}
		if err := json.Unmarshal(r.Body, &msg); err != nil {
			t.Fatalf("webhook body: %v", err)
		}
		sent[msg.To]++
	}
	for _, p := range phones {
		if sent["+"+p] != 1 {
			t.Errorf("+%s: sent %d times", p, sent["+"+p])
		}
	}
}

// atOnce sends one request per item, all at once, spread over the
// instances, and counts the answers by their error (or "OK").
func atOnce[T any](envs []*webtest.Env, items []T, send func(*webtest.Env, T) *webtest.Response) map[string]int {
	var mu sync.Mutex
	answers := map[string]int{}
	var wg sync.WaitGroup
	for i, item := range items {
		wg.Go(func() {
			r := send(envs[i%len(envs)], item)
			key := r.String("error")
			if r.String("result") == "OK" {
				key = "OK"
			}
			mu.Lock()
			answers[key]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return answers
}

// The limits a code request counts hold when the requests arrive at once
// on two instances: the resend cooldown of one number, the service's
// hourly SMS cap, and in demo-code mode the guard over all numbers.
func TestCodeLimitsAcrossInstances(t *testing.T) {
	login := func(e *webtest.Env, phone string) *webtest.Response { return e.JSON(webtest.LoginParams(phone)) }
	a, b, _, _ := twoInstances(t)
	same := make([]string, 10)
	for i := range same {
		same[i] = webtest.USPhone
	}
	if got := atOnce([]*webtest.Env{a, b}, same, login); got["OK"] != 1 {
		t.Errorf("10 code requests for one number at once: %v, want 1 OK (the resend cooldown)", got)
	}

	fake := webtest.NewFakeHTTP(t, webtest.Reply{Status: http.StatusCreated, Body: twilioCreated})
	c, d, _, _ := twoInstances(t, "--otp-channel", "twilio", "--twilio-base-url", fake.URL, "--twilio-account-sid", twilioSID,
		"--twilio-from", "+15005550006", "--sms-hourly-cap", "3")
	var phones []string
	for i := range 10 {
		phones = append(phones, fmt.Sprintf("120155503%02d", i))
	}
	if got := atOnce([]*webtest.Env{c, d}, phones, login); got["OK"] != 3 {
		t.Errorf("10 SMS code requests at once under an hourly cap of 3: %v, want 3 OK", got)
	}

	// Demo-code mode locks every number after 10 × 5 wrong codes over all
	// numbers: the 50th wrong code locks, those after it find the lock.
	e, f, _, _ := twoInstances(t, "--demo-code", "24682468", "--otp-lock-after", "5")
	phones = phones[:0]
	for i := range 60 {
		phones = append(phones, fmt.Sprintf("336123457%02d", i))
	}
	if got := atOnce([]*webtest.Env{e, f}, phones, login); got["OK"] != len(phones) {
		t.Fatalf("demo-code requests: %v", got)
	}
	verify := func(e *webtest.Env, phone string) *webtest.Response { return e.Verify(phone, "13571357") }
	if got := atOnce([]*webtest.Env{e, f}, phones, verify); got["BADCODE"] != 49 || got["LOCKED"] != 11 {
		t.Errorf("60 wrong demo codes at once over two instances: %v, want 49 BADCODE and 11 LOCKED", got)
	}
}

// A notice no notification announced (a pooler that breaks LISTEN, a
// listener reconnecting) still reaches the stream on B at its next poll:
// here a delivery is written straight into the shared tables.
func TestLiveEventsPollWithoutNotification(t *testing.T) {
	a, b, _, urlB := twoInstances(t, "--event-heartbeat", "1m", "--event-poll", "100ms")
	alice := a.SignIn("12015550101", "a")
	events, _ := openEventStream(t, urlB+"/api/events", alice)
	waitForStream(b)
	db := a.Server.DB().Write
	var eventID int64
	// Written at the instances' present: an event of the epoch is past the
	// retention, and the prune may take it before the poll does.
	now := a.Clock.Now().UnixMilli()
	if err := db.Raw(`INSERT INTO events (type, user_id, body, created_at, fanned_out_at)
		SELECT 'profile', id, '{"unannounced":true}', ?, ? FROM users WHERE phone = '+12015550101' RETURNING id`, now, now).Scan(&eventID).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(`INSERT INTO event_deliveries (recipient_id, event_id)
		SELECT id, ? FROM users WHERE phone = '+12015550101'`, eventID).Error; err != nil {
		t.Fatal(err)
	}
	select {
	case line := <-events:
		if !strings.Contains(line, "unannounced") {
			t.Errorf("B's stream got %q", line)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the poll did not bring the unannounced delivery to the stream on B")
	}
}

// A join held in 10,000 address books is fanned out by both instances'
// workers, chunk by chunk, and delivered once to each book's owner: the
// deliveries and the event's recipient count are exactly 10,000 (a chunk
// done twice would count its recipients twice).
func TestFanoutAcrossInstancesOnce(t *testing.T) {
	a, b, _, _ := twoInstances(t, "--fanout-chunk", "100")
	const books = 10_000
	bobHash := models.NewPhoneHasher(bytes.Repeat([]byte{0x22}, 32)).Hash("+12015550102") // clusterKeys' contacts key
	db := a.Server.DB().Write
	if err := db.Exec(`INSERT INTO users (phone, country_code, created_at, profile_at)
		SELECT '+1999' || lpad(i::text, 7, '0'), 1, 0, 0 FROM generate_series(1, ?) AS i`, books).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(`INSERT INTO address_book (owner_id, contact_hash)
		SELECT id, ? FROM users WHERE phone LIKE '+1999%'`, bobHash).Error; err != nil {
		t.Fatal(err)
	}
	a.SignIn("12015550102", "b") // Bob joins
	fanOutAtOnce(t, a, b)
	if n := a.Count("SELECT COUNT(*) FROM event_deliveries"); n != books {
		t.Errorf("%d deliveries, want %d", n, books)
	}
	if n := a.Count("SELECT recipients FROM events WHERE type = 'joined'"); n != books {
		t.Errorf("the join counts %d recipients, want %d", n, books)
	}
}

// fanOutAtOnce runs the fan-out on every env at once (one worker each,
// besides their background workers) until nothing is left to fan out.
func fanOutAtOnce(t *testing.T, envs ...*webtest.Env) {
	var wg sync.WaitGroup
	for _, e := range envs {
		wg.Go(func() {
			for range 1000 {
				if n, err := e.Server.Events().RunOnce(t.Context()); err != nil || n == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	deadline := time.Now().Add(60 * time.Second)
	for envs[0].Count("SELECT COUNT(*) FROM events WHERE fanned_out_at IS NULL") > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
}

// waitForStream waits until the instance holds a live stream.
func waitForStream(e *webtest.Env) {
	for i := 0; i < 300 && e.Server.Events().Hub().Streams() != 1; i++ {
		time.Sleep(10 * time.Millisecond)
	}
}
