package models

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"
)

// LiveStream is one open event stream, on any instance: its device gets
// the stream and no push. Each instance refreshes the rows of its streams
// together, twice per ttl; the rows of an instance that died lapse within
// one ttl (the stream heartbeat).
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

	mu   sync.Mutex
	open map[int64]struct{} // this instance's rows
}

// NewPresence returns the streams' presence; a row lapses ttl after its
// last refresh.
func NewPresence(db *DB, clock Clock, ttl time.Duration) *Presence {
	return &Presence{db: db, clock: clock, ttl: ttl, open: map[int64]struct{}{}}
}

// Open records a stream of the session and returns its row's id.
func (p *Presence) Open(ctx context.Context, sessionID int64) (int64, error) {
	id, err := WriteTx(ctx, p.db, func(tx *Tx) (int64, error) {
		row := LiveStream{SessionID: sessionID, ExpiresAt: toMillis(p.clock.Now().Add(p.ttl))}
		err := tx.Create(&row).Error
		return row.ID, err
	})
	if err == nil {
		p.mu.Lock()
		p.open[id] = struct{}{}
		p.mu.Unlock()
	}
	return id, err
}

// Close removes a stream's row.
func (p *Presence) Close(ctx context.Context, id int64) error {
	p.mu.Lock()
	delete(p.open, id)
	p.mu.Unlock()
	return p.db.WriteTx(ctx, func(tx *Tx) error {
		return tx.Delete(&LiveStream{}, id).Error
	})
}

// Run refreshes this instance's rows twice per ttl until ctx is done: one
// statement per 500 streams, not a write per stream.
func (p *Presence) Run(ctx context.Context, log *slog.Logger) {
	repeat(ctx, p.ttl/2, func() {
		if err := p.Refresh(ctx); err != nil && ctx.Err() == nil {
			log.Error("event streams: refreshing their presence failed", "err", err)
		}
	})
}

// Refresh extends the rows of this instance's streams by the ttl.
func (p *Presence) Refresh(ctx context.Context) error {
	p.mu.Lock()
	ids := slices.Sorted(maps.Keys(p.open))
	p.mu.Unlock()
	until := toMillis(p.clock.Now().Add(p.ttl))
	for chunk := range slices.Chunk(ids, 500) {
		if err := p.db.WriteTx(ctx, func(tx *Tx) error {
			return tx.Model(&LiveStream{}).Where("id IN ?", chunk).Update("expires_at", until).Error
		}); err != nil {
			return err
		}
	}
	return nil
}
