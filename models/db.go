package models

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// DB holds the two connection pools of one SQLite database. SQLite allows one
// writer at a time: Write has a single connection so writers queue in Go
// instead of sleeping in SQLite's busy handler, while Read serves concurrent
// readers (WAL lets them run beside the writer).
type DB struct {
	Write *gorm.DB
	Read  *gorm.DB
}

// dsn builds the connection string. Pragmas must be in the DSN: a PRAGMA
// statement would reach only one pooled connection. _txlock=immediate makes
// every transaction take the write lock at BEGIN, so a transaction that reads
// then writes cannot fail with SQLITE_BUSY halfway.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "5000")
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", "NORMAL")
	// 32 MiB of pages per connection (SQLite's default is 2 MiB), the same
	// for the writer and the readers. A 256 MiB cache on the writer alone
	// (whose cache, unlike the readers', no other connection's commit
	// empties) was measured against this on a 300,000-user database: contact
	// sync and sign-in medians moved by less than the run-to-run noise, in
	// both directions, for up to 224 MiB more memory. The operating system's
	// page cache holds the hot pages either way.
	q.Set("_cache_size", "-32768")
	q.Set("_txlock", "immediate")
	if readOnly {
		q.Set("_query_only", "true")
	}
	return "file:" + path + "?" + q.Encode()
}

// Open opens (creating if needed) the database at path and applies the
// pending migrations.
func Open(ctx context.Context, path string, log *slog.Logger) (*DB, error) {
	cfg := func() *gorm.Config {
		return &gorm.Config{
			TranslateError: true,
			// Reuse compiled statements (SQLite parsing is a large share of a small
			// query), bounded so that queries with IN lists of many sizes do not
			// grow the cache without end.
			PrepareStmt:        true,
			PrepareStmtMaxSize: 512,
			PrepareStmtTTL:     time.Hour,
			Logger: logger.NewSlogLogger(log.With("component", "gorm"), logger.Config{
				SlowThreshold:             200 * time.Millisecond,
				LogLevel:                  logger.Warn,
				IgnoreRecordNotFoundError: true,
				ParameterizedQueries:      true, // never put phone numbers or hashes in logs
			}),
			NowFunc: func() time.Time { return time.Now().UTC() },
		}
	}
	w, err := gorm.Open(sqlite.Open(dsn(path, false)), cfg())
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	wsql, err := w.DB()
	if err != nil {
		return nil, err
	}
	wsql.SetMaxOpenConns(1)
	wsql.SetConnMaxIdleTime(0)
	if err := migrate(ctx, wsql, log); err != nil {
		wsql.Close()
		return nil, err
	}
	r, err := gorm.Open(sqlite.Open(dsn(path, true)), cfg())
	if err != nil {
		wsql.Close()
		return nil, fmt.Errorf("open database %s for reading: %w", path, err)
	}
	rsql, err := r.DB()
	if err != nil {
		wsql.Close()
		return nil, err
	}
	n := max(4, 2*runtime.NumCPU())
	rsql.SetMaxOpenConns(n)
	rsql.SetMaxIdleConns(n)
	return &DB{Write: w, Read: r}, nil
}

// Ping checks that both pools answer.
func (d *DB) Ping(ctx context.Context) error {
	for _, g := range []*gorm.DB{d.Write, d.Read} {
		var one int
		if err := g.WithContext(ctx).Raw("SELECT 1").Scan(&one).Error; err != nil {
			return err
		}
	}
	return nil
}

// Close closes both pools.
func (d *DB) Close() error {
	var errs []error
	for _, g := range []*gorm.DB{d.Read, d.Write} {
		if s, err := g.DB(); err == nil {
			errs = append(errs, s.Close())
		}
	}
	return errors.Join(errs...)
}
