package models

import (
	"context"
	"log/slog"
	"time"
)

// The database's chores, run beside the requests: the planner's
// statistics, the WAL's checkpoints, giving memory back after a burst, and
// the loops that repeat them and flush the queues written in batches.

// analyzeIfNeeded gathers the query planner's statistics when the database
// has none (a new or migrated database, or one restored without them):
// without them SQLite may pick a full scan for a join that an index answers.
func (d *DB) analyzeIfNeeded(ctx context.Context, log *slog.Logger) error {
	var n int64
	err := d.Write.WithContext(ctx).Raw(`SELECT COUNT(*) FROM sqlite_schema WHERE name = 'sqlite_stat1'`).Scan(&n).Error
	if err != nil {
		return err
	}
	if n > 0 {
		if err := d.Write.WithContext(ctx).Raw(`SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl IN ('users', 'address_book')`).Scan(&n).Error; err != nil {
			return err
		}
	}
	if n >= 2 {
		return nil
	}
	log.Info("database: gathering query statistics (ANALYZE)")
	return d.Analyze(ctx)
}

// Analyze refreshes the query planner's statistics, reading a bounded sample
// of each index (analysis_limit), so plans follow the tables as they grow.
// It runs on the write connection but not through WriteTx: it changes no
// data that a transaction orders against, retries or announces, and as a
// job of the writer it would sit inside a savepoint of a shared commit,
// holding up the jobs batched with it. On the connection by itself it
// excludes the writer while it runs, and the writes waiting meanwhile can
// still give up (runBatch).
func (d *DB) Analyze(ctx context.Context) error {
	if d.dialect == dialectPostgres {
		return nil // autovacuum analyzes
	}
	return d.Write.WithContext(ctx).Exec("ANALYZE").Error
}

// RunAnalyze refreshes the statistics every interval until ctx is done.
func (d *DB) RunAnalyze(ctx context.Context, every time.Duration, log *slog.Logger) {
	repeat(ctx, every, func() {
		if err := d.Analyze(ctx); err != nil && ctx.Err() == nil {
			log.Warn("database: ANALYZE failed", "err", err)
		}
	})
}

// readerMaxIdle is how long a read connection may sit unused before it is
// closed (and opened again when needed).
const readerMaxIdle = 30 * time.Second

// ReleaseMemory gives back the page caches: the write connection's (PRAGMA
// shrink_memory: after a burst of writes it holds up to its cache size of
// pages no one may read again soon), and the idle readers', by closing
// them now rather than when readerMaxIdle has passed: the server calls
// this once when a burst is over, and a cache freed after that call would
// stay in the C library's heap. Like Analyze it runs on the connection by
// itself, not through WriteTx: it changes nothing stored. Then the C
// library is asked to return what SQLite freed (db_malloc.go).
func (d *DB) ReleaseMemory(ctx context.Context) error {
	if d.dialect == dialectPostgres {
		return nil
	}
	err := d.Write.WithContext(ctx).Exec("PRAGMA shrink_memory").Error
	if rsql, rerr := d.Read.DB(); rerr == nil {
		rsql.SetMaxIdleConns(0) // closes the idle readers; those in use close when given back
		rsql.SetMaxIdleConns(d.readers)
	}
	trimCHeap()
	return err
}

// flushEvery calls flush every interval until ctx is done, then once more
// with five seconds of its own: the queues written in batches (sync
// records, remembered refusals) are not lost at shutdown.
func flushEvery(ctx context.Context, every time.Duration, flush func(context.Context)) {
	repeat(ctx, every, func() { flush(ctx) })
	final, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	flush(final)
}

// repeat calls fn every interval until ctx is done (the database's chores,
// the streams' presence).
func repeat(ctx context.Context, every time.Duration, fn func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// RunCheckpoints copies the WAL into the database file every interval until
// ctx is done. A passive checkpoint never waits for readers or the writer:
// it copies what no reader still needs, and the WAL is reused from its start
// once everything has been copied.
func (d *DB) RunCheckpoints(ctx context.Context, every time.Duration, log *slog.Logger) {
	if d.ckpt == nil {
		return // PostgreSQL: its own checkpointer
	}
	repeat(ctx, every, func() {
		if _, err := d.ckpt.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil && ctx.Err() == nil && !IsBusy(err) {
			log.Warn("database: checkpoint failed", "err", err)
		}
	})
}
