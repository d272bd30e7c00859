package models

import (
	"context"
	"time"
)

// LiveStream is one open event stream, on any instance: its device gets
// the stream and no push. The stream refreshes its row with its
// heartbeat; the row of a stream whose instance died lapses within one
// heartbeat.
type LiveStream struct {
	ID        int64
	SessionID int64
	ExpiresAt int64
}

// Presence keeps the live_streams rows of this instance's streams.
type Presence struct {
	db    *DB
	clock Clock
	ttl   time.Duration
}

// NewPresence returns the streams' presence; a row lapses ttl after its
// last refresh (the stream heartbeat: streams refresh twice per ttl).
func NewPresence(db *DB, clock Clock, ttl time.Duration) *Presence {
	return &Presence{db: db, clock: clock, ttl: ttl}
}

// Open records a stream of the session and returns its row's id.
func (p *Presence) Open(ctx context.Context, sessionID int64) (int64, error) {
	return WriteTx(ctx, p.db, func(tx *Tx) (int64, error) {
		row := LiveStream{SessionID: sessionID, ExpiresAt: toMillis(p.clock.Now().Add(p.ttl))}
		err := tx.Create(&row).Error
		return row.ID, err
	})
}

// Refresh extends a stream's row by the ttl.
func (p *Presence) Refresh(ctx context.Context, id int64) error {
	return p.db.WriteTx(ctx, func(tx *Tx) error {
		return tx.Model(&LiveStream{}).Where("id = ?", id).Update("expires_at", toMillis(p.clock.Now().Add(p.ttl))).Error
	})
}

// Close removes a stream's row.
func (p *Presence) Close(ctx context.Context, id int64) error {
	return p.db.WriteTx(ctx, func(tx *Tx) error {
		return tx.Delete(&LiveStream{}, id).Error
	})
}
