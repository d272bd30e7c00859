package models

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// The live streams' reads of their deliveries take at most half the
// reader connections: with those slots taken, a stream waits (here until
// its context ends) while the reader pool stays free for requests.
func TestStreamReadsTakeHalfTheReaders(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, db *DB) {
		e := NewEvents(db, NewFakeClock(time.Unix(1_800_000_000, 0)), slog.New(slog.DiscardHandler), EventsConfig{})
		pool, err := db.Read.DB()
		if err != nil {
			t.Fatal(err)
		}
		readers := pool.Stats().MaxOpenConnections
		if got, want := cap(e.streamReads), max(1, readers/2); got != want {
			t.Fatalf("%d stream read slots for %d readers, want %d", got, readers, want)
		}
		for range cap(e.streamReads) {
			e.streamReads <- struct{}{}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if _, err := e.Since(ctx, 1, 0, 100); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("a stream read with every slot taken: %v, want to wait", err)
		}
		var n int64
		if err := db.Read.WithContext(context.Background()).Raw("SELECT COUNT(*) FROM users").Scan(&n).Error; err != nil {
			t.Fatalf("a request's read while the streams wait: %v", err)
		}
		<-e.streamReads
		if _, err := e.Since(context.Background(), 1, 0, 100); err != nil {
			t.Fatalf("a stream read with a slot free: %v", err)
		}
	})
}

// A stream reads its deliveries' ids and takes the notices from the
// recent events: an event the fan-out put there is answered from memory
// (its row changed under it is not read again, events never change), one
// not there is read from the database and kept, and one pruned since its
// delivery was read is left out.
func TestSinceTakesRecentEventsAndReadsTheOthers(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		e := NewEvents(db, NewFakeClock(time.Unix(1_800_000_000, 0)), slog.New(slog.DiscardHandler), EventsConfig{})
		var user int64
		if err := db.Write.Raw(`INSERT INTO users (phone, country_code, created_at, profile_at)
			VALUES ('+12015550101', 1, 0, 0) RETURNING id`).Scan(&user).Error; err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, body := range []string{`{"n":1}`, `{"n":2}`, `{"n":3}`} {
			ev := Event{Type: EventProfile, UserID: user, Body: body, CreatedAt: 1}
			if err := db.Write.Create(&ev).Error; err != nil {
				t.Fatal(err)
			}
			if err := db.Write.Exec("INSERT INTO event_deliveries (recipient_id, event_id) VALUES (?, ?)", user, ev.ID).Error; err != nil {
				t.Fatal(err)
			}
			ids = append(ids, ev.ID)
		}
		e.recent.put(Event{ID: ids[1], Type: EventProfile, Body: `{"n":2}`})
		if err := db.Write.Exec("UPDATE events SET body = 'changed' WHERE id = ?", ids[1]).Error; err != nil {
			t.Fatal(err)
		}
		got, err := e.Since(ctx, user, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{`{"n":1}`, `{"n":2}`, `{"n":3}`}; fmt.Sprint(bodies(got)) != fmt.Sprint(want) {
			t.Fatalf("bodies %v, want %v", bodies(got), want)
		}
		for i, ev := range got {
			if ev.ID != ids[i] || ev.Type != EventProfile {
				t.Fatalf("event %d: id %d type %q, want %d %q", i, ev.ID, ev.Type, ids[i], EventProfile)
			}
		}
		if _, missing := e.recent.get(ids); len(missing) != 0 {
			t.Fatalf("events %v read and not kept", missing)
		}
		if got, err := e.Since(ctx, user, ids[0], 1); err != nil || len(got) != 1 || got[0].ID != ids[1] {
			t.Fatalf("after the first, one: %v %v, want event %d", got, err, ids[1])
		}
		e.recent = newRecentEvents() // as on an instance that did not fan them out
		if err := db.Write.Exec("DELETE FROM events WHERE id = ?", ids[2]).Error; err != nil {
			t.Fatal(err)
		}
		got, err = e.Since(ctx, user, ids[0], 100)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"changed"}; fmt.Sprint(bodies(got)) != fmt.Sprint(want) {
			t.Fatalf("bodies %v after the third was pruned, want %v", bodies(got), want)
		}
	})
}

func bodies(evs []Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Body
	}
	return out
}

// The recent events keep the latest ones within their bounds, the oldest
// put dropped first.
func TestRecentEventsDropTheOldest(t *testing.T) {
	r := newRecentEvents()
	for id := int64(1); id <= recentEventsMax+2; id++ {
		r.put(Event{ID: id, Type: EventProfile, Body: "x"})
	}
	if _, missing := r.get([]int64{1, 2, 3, recentEventsMax + 2}); fmt.Sprint(missing) != "[1 2]" {
		t.Fatalf("missing %v, want the two oldest", missing)
	}
	big := strings.Repeat("b", recentEventsMaxBytes/2+1)
	r.put(Event{ID: 1000, Body: big})
	r.put(Event{ID: 1001, Body: big})
	found, missing := r.get([]int64{1000, 1001})
	if fmt.Sprint(missing) != "[1000]" || len(found) != 1 || found[0].ID != 1001 {
		t.Fatalf("over the byte bound: found %d, missing %v; want the newer large one only", len(found), missing)
	}
	if r.bytes > recentEventsMaxBytes {
		t.Fatalf("%d bytes kept, bound %d", r.bytes, recentEventsMaxBytes)
	}
}
