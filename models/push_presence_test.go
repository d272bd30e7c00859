package models

import (
	"context"
	"testing"
	"time"
)

// A stream's row stays live while its instance refreshes it and lapses one
// ttl after the last refresh (an instance that died); closing removes it.
func TestPresenceRefreshAndLapse(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		clock := NewFakeClock(time.Unix(1_800_000_000, 0))
		if err := db.WriteTx(ctx, func(tx *Tx) error {
			if err := tx.Exec("INSERT INTO users (id, phone, country_code, created_at, profile_at) VALUES (1, '+12015550101', 1, 0, 0)").Error; err != nil {
				return err
			}
			return tx.Exec("INSERT INTO sessions (id, user_id, token_hash, created_at, last_used_at, expires_at) VALUES (7, 1, ?, 0, 0, 0)", []byte("h")).Error
		}); err != nil {
			t.Fatal(err)
		}
		live := func() int64 {
			var n int64
			db.Read.Raw("SELECT COUNT(*) FROM live_streams WHERE session_id = 7 AND expires_at > ?", toMillis(clock.Now())).Scan(&n)
			return n
		}
		p := NewPresence(db, clock, 10*time.Second)
		id, err := p.Open(ctx, 7)
		if err != nil || live() != 1 {
			t.Fatalf("open: %v, %d live", err, live())
		}
		for range 3 {
			clock.Advance(6 * time.Second)
			if err := p.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if live() != 1 {
			t.Fatal("a refreshed stream lapsed")
		}
		clock.Advance(11 * time.Second)
		if live() != 0 {
			t.Fatal("a stream not refreshed for a ttl is still live")
		}
		if err := p.Close(ctx, id); err != nil {
			t.Fatal(err)
		}
		var rows int64
		db.Read.Raw("SELECT COUNT(*) FROM live_streams").Scan(&rows)
		if rows != 0 {
			t.Errorf("%d rows after close", rows)
		}
	})
}
