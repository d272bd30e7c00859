package models

import (
	"context"
	"errors"
	"log/slog"
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
