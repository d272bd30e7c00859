package web_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"roster/models"
	"roster/web/webtest"
)

// Two instances on one PostgreSQL database fan out a join held in 2,000
// address books whose owners are offline with tokens, and both push
// workers send at once (their background workers and the test's calls):
// each device gets its push exactly once.
func TestPushAcrossInstancesOnce(t *testing.T) {
	fcm := webtest.NewFakeFCM(t)
	a, b, _, _ := twoInstances(t, append(fcm.Args(), "--fanout-chunk", "100", "--push-concurrency", "16")...)
	const books = 2000
	bobHash := models.NewPhoneHasher(bytes.Repeat([]byte{0x22}, 32)).Hash("+12015550102") // clusterKeys' contacts key
	db := a.Server.DB().Write
	now := a.Clock.Now().UnixMilli()
	for _, st := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO users (phone, country_code, created_at, profile_at)
			SELECT '+1999' || lpad(i::text, 7, '0'), 1, 0, 0 FROM generate_series(1, ?) AS i`, []any{books}},
		{`INSERT INTO address_book (owner_id, contact_hash) SELECT id, ? FROM users WHERE phone LIKE '+1999%'`, []any{bobHash}},
		// Each owner has a device with a token, signed in and offline.
		{`INSERT INTO sessions (user_id, token_hash, notify_token, created_at, last_used_at, expires_at)
			SELECT id, sha256(convert_to(phone, 'UTF8')), 'fcm-' || phone, 0, ?, ? FROM users WHERE phone LIKE '+1999%'`,
			[]any{now, now + 86_400_000}},
	} {
		if err := db.Exec(st.sql, st.args...).Error; err != nil {
			t.Fatal(err)
		}
	}
	a.SignIn("12015550102", "b") // Bob joins
	fanOutAtOnce(t, a, b)
	if n := a.Count("SELECT COUNT(*) FROM outbox WHERE kind = 'push'"); n != books {
		t.Fatalf("%d push jobs, want %d", n, books)
	}
	var wg sync.WaitGroup
	for _, e := range []*webtest.Env{a, b} {
		wg.Go(func() {
			for runPushes(e) > 0 {
			}
		})
	}
	wg.Wait()
	waitUntil(t, "every push sent", func() bool {
		return a.Count("SELECT COUNT(*) FROM outbox WHERE kind = 'push' AND state = 'sent'") == books
	})
	seen := map[string]int{}
	for _, m := range fcm.Messages() {
		seen[m.Token]++
	}
	if len(seen) != books {
		t.Errorf("%d devices got a push, want %d", len(seen), books)
	}
	for tok, n := range seen {
		if n != 1 {
			t.Errorf("%s got %d pushes", tok, n)
		}
	}
	if n := a.Count("SELECT COUNT(*) FROM outbox_attempts a JOIN outbox o ON o.id = a.outbox_id WHERE o.kind = 'push'"); n != books {
		t.Errorf("%d attempts recorded, want %d", n, books)
	}
}

// A push token belongs to the last session that set it, also when two
// sessions on two instances set it at the same moment (the same phone
// signed in to two accounts): afterwards exactly one of them holds it.
func TestPushTokenTakeoverAcrossInstances(t *testing.T) {
	a, b, _, _ := twoInstances(t)
	const rounds = 30
	tokens := make([]string, 0, 2*rounds)
	for i := range 2 * rounds {
		tokens = append(tokens, a.SignIn(fmt.Sprintf("336123459%02d", i), "a"))
	}
	for r := range rounds {
		shared := fmt.Sprintf("fcm-shared-%02d", r)
		set := func(e *webtest.Env, tok string) *webtest.Response {
			return e.JSON(map[string]any{"op": "setnotify", "token": tok, "notifytoken": shared})
		}
		if got := atOnce([]*webtest.Env{a, b}, tokens[2*r:2*r+2], set); got["OK"] != 2 {
			t.Fatalf("round %d: %v", r, got)
		}
		if n := a.Count("SELECT COUNT(*) FROM sessions WHERE notify_token = ?", shared); n != 1 {
			t.Errorf("round %d: %d sessions hold the token both set at once, want 1", r, n)
		}
	}
}
