package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"runtime"
	"time"

	"github.com/mattn/go-sqlite3"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
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
//
// mode=rw: no connection ever creates the file (Open creates it, 0600,
// before any connection). A reader opened after the file was deleted fails
// instead of quietly starting an empty database.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Set("mode", "rw")
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
// pending migrations. The file and its -wal and -shm companions are made
// readable by the owner only: they hold phone numbers and address books.
func Open(ctx context.Context, path string, log *slog.Logger) (*DB, error) {
	if err := prepareFiles(path); err != nil {
		return nil, err
	}
	cfg := func() *gorm.Config {
		return &gorm.Config{
			TranslateError: true,
			// Reuse compiled statements (SQLite parsing is a large share of a small
			// query), bounded so that queries with IN lists of many sizes do not
			// grow the cache without end.
			PrepareStmt:        true,
			PrepareStmtMaxSize: 512,
			PrepareStmtTTL:     time.Hour,
			Logger:             gormLog{log: log.With("component", "gorm")}, // db_log.go: failures only, no values
			NowFunc:            func() time.Time { return time.Now().UTC() },
		}
	}
	// Connections come from db_log.go's connector, which times statements
	// in the driver (not the wait for a connection) and logs slow ones.
	open := func(readOnly bool) (*gorm.DB, error) {
		pool := sql.OpenDB(&connector{dsn: dsn(path, readOnly), driver: &sqlite3.SQLiteDriver{}, log: log.With("component", "sqlite")})
		return gorm.Open(sqlite.New(sqlite.Config{Conn: pool}), cfg())
	}
	w, err := open(false)
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
	r, err := open(true)
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

// prepareFiles creates the database file with mode 0600 when it is
// missing (SQLite would create it, and later its -wal and -shm, with the
// umask's 0644; it gives those the database file's mode) and tightens the
// mode of existing ones.
func prepareFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		if err := f.Close(); err != nil {
			return err
		}
	case !errors.Is(err, fs.ErrExist):
		return fmt.Errorf("create database %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, fi.Mode().Perm()&0o700); err != nil {
				return fmt.Errorf("restrict %s to its owner: %w", p, err)
			}
		}
	}
	return nil
}

// Dependents counts the stored rows a generated secret protects and names
// them, for refusing to replace a lost secret over data that needs it.
// Unknown secret names protect nothing.
func (d *DB) Dependents(ctx context.Context, secret string) (int64, string, error) {
	var q, what string
	switch secret {
	case "otp":
		q, what = "SELECT COUNT(*) FROM users", "users (codes already sent to them could not be checked)"
	case "contacts":
		q, what = "SELECT COUNT(*) FROM users", "users whose address books are stored as hashes under it (no contact would ever match again)"
	case "cookie-auth", "cookie-enc":
		// Not the admins themselves: `roster admin create` may make them
		// before the first start, which generates the cookie keys.
		q, what = "SELECT COUNT(*) FROM admin_sessions WHERE revoked_at IS NULL", "dashboard sessions (every one would end)"
	case "mesibo-seal":
		q, what = "SELECT COUNT(*) FROM sessions WHERE mesibo_token_sealed IS NOT NULL",
			"sessions with sealed mesibo tokens (they could no longer be revoked at mesibo)"
	default:
		return 0, "", nil
	}
	var n int64
	err := d.Read.WithContext(ctx).Raw(q).Scan(&n).Error
	return n, what, err
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
