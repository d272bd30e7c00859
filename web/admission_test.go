package web_test

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	"roster/web/webtest"
)

// A protocol request that would wait longer than --queue-wait for its turn
// is refused as it arrives, with BUSY and the expected wait as retry_after,
// while the request in the only slot is still being served: it does not
// wait out its deadline, and it changes nothing. Once the slot is free,
// requests are served again.
func TestAdmissionRefusesAtArrival(t *testing.T) {
	webtest.SQLiteOnly(t, "holds SQLite's one writer connection to keep a request in its slot")
	e := webtest.NewPeople(t, "--request-slots", "1", "--queue-wait", "2s", "--request-timeout", "1m")
	alice := e.SignIn(webtest.USPhone, "a")

	// The first upload holds the slot for 10 s of the server's clock: the
	// mean time a slot is held becomes 10 s.
	release := holdWriter(t, e)
	first := upload(e, alice, "+12015550180")
	waitForMetric(t, e, "roster_api_requests_serving 1")
	e.Clock.Advance(10 * time.Second)
	release()
	(<-first).ExpectOK(t)

	release = holdWriter(t, e)
	second := upload(e, alice, "+12015550181")
	waitForMetric(t, e, "roster_api_requests_serving 1")
	before := e.Count("SELECT COUNT(*) FROM address_book")
	r := e.JSON(map[string]any{"op": "getcontacts", "token": alice, "phones": "+12015550182"})
	r.ExpectFail(t, "BUSY")
	if r.String("retry_after") != "10" || r.String("errmsg") == "" {
		t.Errorf("refused without the expected wait (10 s) as retry_after, or without errmsg: %s", r.Body)
	}
	select {
	case res := <-second:
		t.Fatalf("the refusal came after the request in the slot was answered (%s): it waited", res.Body)
	default:
	}
	if n := e.Count("SELECT COUNT(*) FROM address_book"); n != before {
		t.Errorf("address book has %d numbers after a refused upload, want %d", n, before)
	}
	if m := e.Metrics().Body; !strings.Contains(string(m), "roster_api_refused_at_arrival_total 1") {
		t.Errorf("refusal not counted:\n%s", m)
	}
	release()
	(<-second).ExpectOK(t)
	e.JSON(map[string]any{"op": "getcontacts", "token": alice, "phones": "+12015550182"}).ExpectOK(t)
	waitForMetric(t, e, "roster_api_requests_serving 0")
}

// A request that waits its turn and reaches its deadline in the queue is
// answered BUSY and leaves the queue; the slot is then served to the next.
func TestAdmissionQueueDeadline(t *testing.T) {
	webtest.SQLiteOnly(t, "holds SQLite's one writer connection to keep a request in its slot")
	e := webtest.NewPeople(t, "--request-slots", "1", "--request-timeout", "200ms")
	alice := e.SignIn(webtest.USPhone, "a")

	release := holdWriter(t, e)
	first := upload(e, alice, "+12015550180") // in the slot until its deadline
	queued := upload(e, alice, "+12015550181")
	(<-first).ExpectFail(t, "BUSY")
	(<-queued).ExpectFail(t, "BUSY")
	release()
	waitForMetric(t, e, "roster_api_requests_queued 0")
	waitForMetric(t, e, "roster_api_requests_serving 0")
	e.JSON(map[string]any{"op": "getcontacts", "token": alice, "phones": "+12015550182"}).ExpectOK(t)
}

// holdWriter takes the SQLite writer's only connection until release is
// called: every write waits for it.
func holdWriter(t *testing.T, e *webtest.Env) (release func()) {
	t.Helper()
	pool, err := e.Server.DB().Write.DB()
	if err != nil {
		t.Fatal(err)
	}
	held, err := pool.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return func() { closeConn(t, held) }
}

func closeConn(t *testing.T, c *sql.Conn) {
	if err := c.Close(); err != nil {
		t.Error(err)
	}
}

// upload sends an upload of one number and answers on the channel.
func upload(e *webtest.Env, token, phone string) <-chan *webtest.Response {
	done := make(chan *webtest.Response, 1)
	go func() { done <- e.JSON(map[string]any{"op": "getcontacts", "token": token, "phones": phone}) }()
	return done
}

// waitForMetric scrapes the metrics until one of their lines is line.
func waitForMetric(t *testing.T, e *webtest.Env, line string) {
	t.Helper()
	for !strings.Contains("\n"+string(e.Metrics().Body)+"\n", "\n"+line+"\n") {
		time.Sleep(time.Millisecond)
	}
}
