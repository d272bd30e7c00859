package models

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"gorm.io/gorm"
)

// Sync records (each upload, incremental sync and deletion, for the
// dashboard's history, read by ContactSyncReader in dashboard_sync.go).

// ContactSync is the record of one sync, for the dashboard.
type ContactSync struct {
	ID         int64
	UserID     int64
	At         int64
	Kind       string // upload, incremental, delete
	Reset      bool
	Received   int
	Valid      int
	NewNumbers int
	Matched    int
	DurationUs int64
	Refused    string
}

func (c *Contacts) insertRecord(tx *gorm.DB, rec *ContactSync, start time.Time) error {
	rec.DurationUs = time.Since(start).Microseconds()
	// Create sets the id: a transaction run again (writePostgres) must not
	// insert the id its rolled-back run was given.
	rec.ID = 0
	return tx.Create(rec).Error
}

// unwrittenSyncs holds the records of syncs that changed nothing (re-syncs,
// delta syncs, refusals before any work) until they are written in one batch:
// writing each in its own transaction would make every read-only sync wait
// for the writer, and fail when the disk is full. Records of changes are
// written with the change instead.
type unwrittenSyncs struct {
	mu      sync.Mutex
	pending []ContactSync
	dropped int
	// digests of lists re-syncs found all in the book (contacts_digest.go),
	// written with the records.
	digests     map[int64]pendingDigest
	digestBytes int
}

// maxPendingSyncs bounds the memory held while the writer is slow: past it,
// records are dropped (and counted). They are history for the dashboard,
// not state anything depends on.
const maxPendingSyncs = 50_000

// later queues the record of a sync that wrote nothing.
func (c *Contacts) later(rec *ContactSync, start time.Time) {
	rec.DurationUs = time.Since(start).Microseconds()
	c.unwritten.mu.Lock()
	defer c.unwritten.mu.Unlock()
	if len(c.unwritten.pending) >= maxPendingSyncs {
		c.unwritten.dropped++
		return
	}
	c.unwritten.pending = append(c.unwritten.pending, *rec)
}

// FlushSyncs writes the queued sync records in one transaction. Readers of
// contact_syncs call it first, so the dashboard shows every sync made
// before the page was asked for. It returns how many records were dropped
// since the last flush because the queue was full.
func (c *Contacts) FlushSyncs(ctx context.Context) (dropped int, err error) {
	c.unwritten.mu.Lock()
	batch, dropped, digests := c.unwritten.pending, c.unwritten.dropped, c.unwritten.digests
	c.unwritten.pending, c.unwritten.dropped, c.unwritten.digests, c.unwritten.digestBytes = nil, 0, nil, 0
	c.unwritten.mu.Unlock()
	if len(batch) == 0 && len(digests) == 0 {
		return dropped, nil
	}
	// Digests that fail to be written are not kept: the next re-sync of
	// their list finds it all there and queues it again.
	owners := make([]int64, 0, len(digests))
	for id := range digests {
		owners = append(owners, id)
	}
	err = c.db.WriteTx(ctx, func(tx *Tx) error {
		// A digest is stored only if its whole list is still in the book,
		// which a deletion or a reset on another instance may be changing:
		// the books are locked first (in id order: another instance's flush
		// locks its owners in the same order).
		if _, err := lockUsers(tx.DB, owners...); err != nil {
			return err
		}
		if len(batch) > 0 {
			// Create sets the ids: on a copy, so that neither a run again
			// (writePostgres) nor the records put back after a failure
			// carry the id of an insert that was rolled back (SQLite gives
			// that id to the next row; inserted again, it would collide).
			if err := tx.CreateInBatches(slices.Clone(batch), 500).Error; err != nil {
				return err
			}
		}
		return writeDigests(c.db, tx.DB, digests)
	})
	if err != nil {
		// Put them back for the next try, within the bound.
		c.unwritten.mu.Lock()
		keep := max(0, min(len(batch), maxPendingSyncs-len(c.unwritten.pending)))
		c.unwritten.dropped += len(batch) - keep
		c.unwritten.pending = append(batch[:keep:keep], c.unwritten.pending...)
		c.unwritten.mu.Unlock()
	}
	return dropped, err
}

// RunSyncLog writes the queued records every interval until ctx is done,
// then once more.
func (c *Contacts) RunSyncLog(ctx context.Context, every time.Duration, log *slog.Logger) {
	flush := func(ctx context.Context) {
		dropped, err := c.FlushSyncs(ctx)
		if err != nil && ctx.Err() == nil {
			log.Warn("contact sync records: writing failed; kept for the next try", "err", err)
		}
		if dropped > 0 {
			log.Warn("contact sync records dropped: the queue was full", "records", dropped)
		}
	}
	flushEvery(ctx, every, flush)
}
