package models

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// Sync records put back after a failed flush are written by the next one,
// beside records queued since and a record another write inserted in
// between: none is lost, none written twice. The failed flush's insert of
// the records was undone, but it had set their ids; carried into the next
// flush (SQLite gives those ids to the next rows: a collision, every flush
// after, until the queue overflowed and dropped them), and on PostgreSQL
// into a run again of the same flush.
func TestFlushSyncsAfterAFailure(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
		c := NewContacts(db, NewFakeClock(now), NewPhoneHasher(bytes.Repeat([]byte{7}, 32)), DefaultContactsConfig())
		var owner User
		if err := db.Write.Raw(`INSERT INTO users (phone, country_code, created_at, profile_at)
			VALUES ('+12015550101', 1, 0, 0) RETURNING id`).Scan(&owner.ID).Error; err != nil {
			t.Fatal(err)
		}
		queue := func(n int) {
			for range n {
				c.later(&ContactSync{UserID: owner.ID, At: toMillis(now), Kind: SyncIncremental}, time.Now())
			}
		}
		queue(3)
		// A digest of a user that does not exist: its insert fails (the
		// foreign key), after the records' insert, and fails the flush.
		c.laterDigest(owner.ID+1000, make([]byte, PhoneHashLen), "[]", now)
		if _, err := c.FlushSyncs(ctx); err == nil {
			t.Fatal("the flush with a digest of no user did not fail")
		}
		// Another write's record, then more queued records.
		if err := db.WriteTx(ctx, func(tx *Tx) error {
			return c.insertRecord(tx.DB, &ContactSync{UserID: owner.ID, At: toMillis(now), Kind: SyncDelete}, time.Now())
		}); err != nil {
			t.Fatal(err)
		}
		queue(2)
		if _, err := c.FlushSyncs(ctx); err != nil {
			t.Fatalf("the flush after a failed one: %v", err)
		}
		var n int64
		if err := db.Read.Raw("SELECT COUNT(*) FROM contact_syncs").Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n != 6 {
			t.Errorf("%d sync records, want 6", n)
		}
	})
}
