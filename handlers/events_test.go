package handlers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/models"
	"roster/web"
	"roster/web/webtest"
)

type sseEvent struct{ ID, Event, Data string }

// stream is an open /api/events connection read in the background.
type stream struct {
	events chan sseEvent
	ended  chan struct{}
	cancel context.CancelFunc
	status int
}

func openStream(t *testing.T, url, token, lastID string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &stream{events: make(chan sseEvent, 100), ended: make(chan struct{}), cancel: cancel, status: res.StatusCode}
	t.Cleanup(cancel)
	if res.StatusCode == http.StatusOK && !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Errorf("content type %q", res.Header.Get("Content-Type"))
	}
	go func() {
		defer close(s.ended)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Data != "" {
					s.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.ID = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.Event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.Data = line[6:]
			}
		}
	}()
	return s
}

func (s *stream) next(t *testing.T) (sseEvent, map[string]any) {
	t.Helper()
	select {
	case ev := <-s.events:
		var body map[string]any
		if err := json.Unmarshal([]byte(ev.Data), &body); err != nil {
			t.Fatalf("event data %q: %v", ev.Data, err)
		}
		return ev, body
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
	}
	return sseEvent{}, nil
}

func (s *stream) expectNone(t *testing.T, wait time.Duration) {
	t.Helper()
	select {
	case ev := <-s.events:
		t.Fatalf("unexpected event %+v", ev)
	case <-time.After(wait):
	}
}

func (s *stream) expectEnd(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case <-s.ended:
	case <-time.After(within):
		t.Fatalf("the stream is still open after %s", within)
	}
}

func TestJoinNoticeStreamAndReplay(t *testing.T) {
	e := webtest.NewPeople(t, "--event-heartbeat", "200ms", "--app-name", "Chatty")
	alice := e.SignIn(alicePhone, "a")
	e.GetContacts(t, alice, map[string]any{"phones": "+" + bobPhone + ",+" + carolPhone})
	base := e.Listen()
	events := base + "/api/events"

	s := openStream(t, events, alice, "")
	if s.status != http.StatusOK {
		t.Fatalf("status %d", s.status)
	}
	waitStreams(t, e, 1)
	bob := e.SignIn(bobPhone, "b1") // joins: Alice has his number
	ev, body := s.next(t)
	if ev.Event != "joined" || body["phone"] != bobPhone || body["subject"] != "%NAME% is on Chatty now" ||
		!strings.Contains(body["msg"].(string), "%NAME% has just joined Chatty") || body["type"] != float64(0) ||
		body["action"] != float64(0) || body["gid"] != float64(0) {
		t.Fatalf("join event %+v %v", ev, body)
	}
	bobJoin := ev.ID
	// Signing in again, on another device, is not joining.
	e.Clock.Advance(31 * time.Second) // the resend cooldown
	e.SignIn(bobPhone, "b2")
	s.expectNone(t, 500*time.Millisecond)
	if n := e.Count("SELECT COUNT(*) FROM events WHERE type = 'joined' AND user_id = (SELECT id FROM users WHERE phone = ?)", "+"+bobPhone); n != 1 {
		t.Errorf("join events for Bob: %d", n)
	}
	// A profile change is a silent refresh.
	e.SetProfile(t, bob, map[string]any{"name": "Bobby"})
	ev, body = s.next(t)
	if ev.Event != "profile" || body["subject"] != "" || body["name"] != "Bobby" || body["ts"] == nil {
		t.Fatalf("profile event %+v %v", ev, body)
	}
	s.cancel()
	s.expectEnd(t, 2*time.Second)

	// Carol joins while Alice is away; Alice resumes after Bob's join.
	e.SignIn(carolPhone, "c")
	waitFannedOut(t, e)
	r := openStream(t, events, alice, bobJoin)
	ev, _ = r.next(t)
	if ev.Event != "profile" {
		t.Fatalf("resume: first event %+v", ev)
	}
	ev, body = r.next(t)
	if ev.Event != "joined" || body["phone"] != carolPhone {
		t.Fatalf("resume: second event %+v", ev)
	}
	r.expectNone(t, 300*time.Millisecond)
	r.cancel()

	// From the start, with the token as a query parameter.
	q := openStream(t, events+"?token="+alice, "", "")
	if ev, _ := q.next(t); ev.ID != bobJoin {
		t.Errorf("replay from the start begins with %+v", ev)
	}
	q.cancel()

	// Bob has nobody in his address book: his stream is quiet.
	b := openStream(t, events, bob, "")
	b.expectNone(t, 300*time.Millisecond)
	b.cancel()
}

func waitStreams(t *testing.T, e *webtest.Env, n int) {
	t.Helper()
	for i := 0; i < 200 && e.Server.Events().Hub().Streams() != n; i++ {
		time.Sleep(10 * time.Millisecond)
	}
}

func waitFannedOut(t *testing.T, e *webtest.Env) {
	t.Helper()
	for i := 0; i < 300; i++ {
		var n int64
		e.Server.DB().Read.Raw("SELECT COUNT(*) FROM events WHERE fanned_out_at IS NULL").Scan(&n)
		if n == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("fan-out did not finish")
}

func TestStreamAuthAndRevocation(t *testing.T) {
	e := webtest.NewPeople(t, "--event-heartbeat", "200ms")
	alice := e.SignIn(alicePhone, "a")
	base := e.Listen()
	if s := openStream(t, base+"/api/events", "", ""); s.status != http.StatusUnauthorized {
		t.Errorf("no token: %d", s.status)
	}
	if s := openStream(t, base+"/api/events", "0123456789abcdef0123456789abcdef", ""); s.status != http.StatusUnauthorized {
		t.Errorf("bad token: %d", s.status)
	}
	if s := openStream(t, base+"/api/events", alice, "abc"); s.status != http.StatusBadRequest {
		t.Errorf("bad Last-Event-ID: %d", s.status)
	}
	// Logout closes the stream at once.
	s := openStream(t, base+"/api/events", alice, "")
	waitStreams(t, e, 1)
	start := time.Now()
	e.JSON(map[string]any{"op": "logout", "token": alice}).ExpectOK(t)
	s.expectEnd(t, 2*time.Second)
	if d := time.Since(start); d > time.Second {
		t.Logf("stream closed after %s", d)
	}
	// A revocation this process did not see (another instance, an admin
	// tool writing the row) ends the stream at the next heartbeat.
	e.Clock.Advance(31 * time.Second)
	alice2 := e.SignIn(alicePhone, "a2")
	s = openStream(t, base+"/api/events", alice2, "")
	waitStreams(t, e, 1)
	e.Server.DB().Write.Exec("UPDATE sessions SET revoked_at = 1 WHERE revoked_at IS NULL")
	s.expectEnd(t, 3*time.Second)
}

// The joiner's settings at fan-out time are honored: no join notice when
// announcements are off, no notice at all to people who may not find them.
func TestFanoutHonorsSettings(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "a")
	e.GetContacts(t, alice, map[string]any{"phones": "+" + bobPhone + ",+" + carolPhone})
	bob := e.SignIn(bobPhone, "b")
	e.SetProfile(t, bob, map[string]any{"announce": 0}) // before the background fan-out ran
	carol := e.SignIn(carolPhone, "c")
	e.SetProfile(t, carol, map[string]any{"discoverable": "contacts", "status": "new status"})
	e.FanOut()
	var rows []struct {
		Type       string
		Phone      string
		Recipients int
	}
	e.Server.DB().Read.Raw(`SELECT e.type, u.phone, e.recipients FROM events e JOIN users u ON u.id = e.user_id ORDER BY e.id`).Scan(&rows)
	if len(rows) != 4 {
		t.Fatalf("events %+v", rows)
	}
	for _, r := range rows {
		if r.Recipients != 0 && r.Phone != "+"+alicePhone {
			t.Errorf("event %+v reached someone", r)
		}
	}
	if n := e.Count("SELECT COUNT(*) FROM event_deliveries"); n != 0 {
		t.Errorf("deliveries %d", n)
	}
	// Carol adds Alice: now Carol's changes reach her.
	e.GetContacts(t, carol, map[string]any{"phones": "+" + alicePhone})
	e.SetProfile(t, carol, map[string]any{"status": "hello Alice"})
	if n, _ := e.Server.Events().RunOnce(context.Background()); n != 1 {
		t.Errorf("recipients %d", n)
	}
	// Events older than the retention are dropped with their deliveries.
	e.Clock.Advance(8 * 24 * time.Hour)
	if n, err := e.Server.Events().Prune(context.Background()); err != nil || n != 5 {
		t.Errorf("pruned %d %v", n, err)
	}
	if n := e.Count("SELECT COUNT(*) FROM event_deliveries"); n != 0 {
		t.Errorf("deliveries after pruning %d", n)
	}
}

// recordingSink is a NoticeSink that keeps what it was given.
type recordingSink struct {
	mu    sync.Mutex
	calls []string
}

func (s *recordingSink) DeliverNotice(_ context.Context, recipient string, body []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, recipient+" "+string(body))
	return nil
}

func TestNoticeSinks(t *testing.T) {
	sink := &recordingSink{}
	e := webtest.New(t, webtest.WithArgs("--otp-ip-hourly", "0", "--otp-ip-daily", "0"),
		webtest.WithOptions(func(o *web.Options) { o.NoticeSinks = []models.NoticeSink{sink} }))
	alice := e.SignIn(alicePhone, "a")
	e.GetContacts(t, alice, map[string]any{"phones": "+" + bobPhone})
	e.SignIn(bobPhone, "b")
	for {
		if n, err := e.Server.Events().RunOnce(context.Background()); n == 0 || err != nil {
			break
		}
	}
	if len(sink.calls) != 1 || !strings.HasPrefix(sink.calls[0], "+"+alicePhone+" {") ||
		!strings.Contains(sink.calls[0], `"phone":"`+bobPhone+`"`) || !strings.Contains(sink.calls[0], `"subject":"%NAME% is on Roster now"`) {
		t.Errorf("sink got %q", sink.calls)
	}
}

// A stream lives longer than the server's write timeout: each write moves
// the connection's deadline, and heartbeats keep it moving.
func TestStreamOutlivesWriteTimeout(t *testing.T) {
	e := webtest.NewPeople(t, "--event-heartbeat", "200ms", "--write-timeout", "500ms")
	alice := e.SignIn(alicePhone, "a")
	base := e.Listen()
	s := openStream(t, base+"/api/events", alice, "")
	select {
	case <-s.ended:
		t.Fatal("the stream ended within 2 s")
	case <-time.After(2 * time.Second):
	}
	// And it still delivers.
	e.GetContacts(t, alice, map[string]any{"phones": "+" + bobPhone})
	e.SignIn(bobPhone, "b")
	if ev, _ := s.next(t); ev.Event != "joined" {
		t.Errorf("event %+v", ev)
	}
}

// Revocations made from the dashboard close the user's live streams at
// once, not at the next heartbeat: a single session, all sessions, a block.
func TestDashboardRevocationsCloseStreams(t *testing.T) {
	e := webtest.NewPeople(t, "--event-heartbeat", "1h")
	base := e.Listen()
	for i, action := range []string{"revoke", "revoke-all", "block"} {
		t.Run(action, func(t *testing.T) {
			e.Clock.Advance(time.Hour) // past the code quotas
			a := e.AdminLogin(fmt.Sprintf("root%d", i), "owner")
			if action == "block" || action == "revoke-all" {
				e.Server.DB().Write.Exec("UPDATE users SET blocked_until = NULL")
			}
			tok := e.SignIn(alicePhone, "device-"+action)
			var uid, sid string
			e.Server.DB().Read.Raw("SELECT CAST(user_id AS TEXT), CAST(id AS TEXT) FROM sessions WHERE device = ?", "device-"+action).Row().Scan(&uid, &sid)
			s := openStream(t, base+"/api/events", tok, "")
			waitStreams(t, e, 1)
			switch action {
			case "revoke":
				a.Post("/admin/users/"+uid+"/sessions/"+sid+"/revoke", nil)
			case "revoke-all":
				a.Post("/admin/users/"+uid+"/revoke-all", map[string]string{"password": webtest.AdminPassword})
			case "block":
				a.Post("/admin/users/"+uid+"/block", map[string]string{"password": webtest.AdminPassword})
			}
			s.expectEnd(t, 3*time.Second)
			waitStreams(t, e, 0)
		})
	}
}

// Signing in again on the same device replaces its session: the old
// session's stream closes at once.
func TestSignInOnSameDeviceClosesOldStream(t *testing.T) {
	e := webtest.NewPeople(t, "--event-heartbeat", "1h")
	base := e.Listen()
	old := e.SignIn(alicePhone, "phone")
	s := openStream(t, base+"/api/events", old, "")
	waitStreams(t, e, 1)
	e.Clock.Advance(time.Minute)
	e.SignIn(alicePhone, "phone")
	s.expectEnd(t, 3*time.Second)
}

// The event stream's failures are plain statuses with a line of text, never
// the protocol's envelope (EventSource clients act on the status), and a
// server failure shows no internals.
func TestStreamFailuresArePlainStatuses(t *testing.T) {
	webtest.Run(t, []webtest.Scenario{
		{Name: "no token", URL: "/api/events", ExpectedStatus: http.StatusUnauthorized,
			NotExpectedContent: []string{`"result"`}},
		{Name: "bad Last-Event-ID", URL: "/api/events",
			Request: func(t testing.TB, e *webtest.Env) *http.Request {
				r := httptest.NewRequest(http.MethodGet, "/api/events", nil)
				r.Header.Set("Authorization", "Bearer "+e.SignIn(webtest.USPhone, "a"))
				r.Header.Set("Last-Event-ID", "abc")
				return r
			},
			ExpectedStatus: http.StatusBadRequest, ExpectedContent: []string{"Last-Event-ID"}, NotExpectedContent: []string{`"result"`}},
		{Name: "database gone", URL: "/api/events?token=0123456789abcdef0123456789abcdef",
			Before:         func(t testing.TB, e *webtest.Env) { _ = e.Server.DB().Close() },
			ExpectedStatus: http.StatusInternalServerError, ExpectedContent: []string{"request id"},
			NotExpectedContent: []string{`"result"`, "sql", "closed"},
			After: func(t testing.TB, e *webtest.Env, r *webtest.Response) {
				if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
					t.Errorf("content type %q", ct)
				}
				if id := r.Header.Get("X-Request-ID"); !strings.Contains(e.Logs(), "request_id="+id) {
					t.Errorf("the failure is not logged under its request id %q", id)
				}
			}},
	})
}
