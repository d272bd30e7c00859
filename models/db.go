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
	"strconv"
	"sync"
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
	// dialect is SQLite (the default) or PostgreSQL (db_postgres.go): the
	// few statements that differ ask it.
	dialect dialect
	// writes hands write transactions to the writer goroutine
	// (db_writer.go), which runs them in arrival order and commits those
	// that wait together as one SQLite transaction.
	writes    chan *writeJob
	closed    chan struct{} // closed by Close: no more writes are taken
	writer    sync.WaitGroup
	closeOnce sync.Once
	// ckpt is a connection of its own that copies the WAL back into the
	// database (RunCheckpoints), so that no request pays for a checkpoint.
	ckpt *sql.DB
	// file is the SQLite file as opened (db_file.go): a commit into a file
	// deleted or replaced since then is not acknowledged.
	file dbFile
	// readers is how many read connections SQLite's read pool keeps.
	readers int
}

// dsn builds the connection string. Pragmas must be in the DSN: a PRAGMA
// statement would reach only one pooled connection. _txlock=immediate makes
// every transaction take the write lock at BEGIN, so a transaction that reads
// then writes cannot fail with SQLITE_BUSY halfway.
//
// mode=rw: no connection ever creates the file (Open creates it, 0600,
// before any connection). A reader opened after the file was deleted fails
// instead of quietly starting an empty database.
func dsn(path string, readOnly bool, busy time.Duration, mem SQLiteMemory) string {
	q := url.Values{}
	q.Set("mode", "rw")
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", strconv.FormatInt(busy.Milliseconds(), 10))
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", "NORMAL")
	// SQLiteMemory.CacheMiB of pages per connection, the same for the
	// writer and the readers (negative: in KiB).
	q.Set("_cache_size", strconv.Itoa(-mem.CacheMiB*1024))
	q.Set("_txlock", "immediate")
	if readOnly {
		q.Set("_query_only", "true")
		// A reader never writes: BEGIN IMMEDIATE there would queue it
		// behind the writer for nothing.
		q.Set("_txlock", "deferred")
	}
	return "file:" + path + "?" + q.Encode()
}

// SQLiteMemory is what each SQLite connection of the server may keep in
// memory (--sqlite-mmap-mib, --sqlite-cache-mib).
type SQLiteMemory struct {
	// MmapMiB lets every connection read the database file through one
	// shared memory map instead of copying pages into its own cache. The
	// mapped pages count in the process's resident memory (as the kernel's
	// file pages, which it may take back at any time). Off by default: on
	// the 100,000-user load test the map made the peak RSS at 16
	// connections 353-375 MiB against 159-163 without it, and 418-433 at
	// 1,024 connections against 222-237, while the request rates of the
	// two stayed within each other's run-to-run spread (two pairs of runs,
	// loadbench --memory, README "Under load").
	MmapMiB int
	// CacheMiB is each connection's page cache (SQLite's default is 2 MiB);
	// the operating system's cache holds the hot pages beside it.
	CacheMiB int
}

// DefaultSQLiteMemory reads the file without a map and caches 8 MiB of
// pages per connection.
func DefaultSQLiteMemory() SQLiteMemory { return SQLiteMemory{MmapMiB: 0, CacheMiB: 8} }

// sqliteDriver opens SQLite connections with the pragmas the DSN cannot
// carry (mattn's DSN has no mmap_size), without registering a driver name
// globally. db_log.go's connector wraps it to time statements.
func sqliteDriver(pragmas ...string) *sqlite3.SQLiteDriver {
	return &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		for _, p := range pragmas {
			if _, err := c.Exec(p, nil); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
		}
		return nil
	}}
}

// openPool opens one of the two pools. Its connections come from db_log.go's
// connector, which times statements in the driver (not the wait for a
// connection) and logs slow ones.
func openPool(path string, readOnly bool, busy time.Duration, mem SQLiteMemory, cfg *gorm.Config, log *slog.Logger) (*gorm.DB, error) {
	pragmas := []string{fmt.Sprintf("PRAGMA mmap_size = %d", int64(mem.MmapMiB)<<20)}
	if !readOnly {
		// ANALYZE reads at most this many rows of each index: start-up and
		// periodic statistics cost milliseconds, whatever the table sizes.
		pragmas = append(pragmas, "PRAGMA analysis_limit = 1000",
			// Checkpoints run beside the writer (RunCheckpoints): an upload
			// of 1,000 new numbers dirties about 1,000 pages of the reverse
			// index, so SQLite's default (a checkpoint once the WAL holds
			// 1,000 pages) made nearly every such commit checkpoint and
			// fsync inside the request. This bound only applies when the
			// checkpointer does not run (tools, tests) or falls behind.
			"PRAGMA wal_autocheckpoint = 20000")
	}
	conn := &connector{dsn: dsn(path, readOnly, busy, mem), driver: sqliteDriver(pragmas...), log: log}
	if !readOnly {
		// The write connection keeps its compiled statements itself
		// (db_stmtcache.go): GORM's cache does not serve transactions.
		conn.keepStmts, conn.begin = writeStmtCacheSize, "BEGIN IMMEDIATE" // dsn's _txlock=immediate
		cfg.PrepareStmt = false
	}
	pool := sql.OpenDB(conn)
	g, err := gorm.Open(sqlite.Dialector{Conn: pool}, cfg)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return g, nil
}

// Busy timeouts: how long a connection waits for SQLite's write lock while
// another process holds it. The server's own writes queue in Go (one
// writer), so it waits only for a command beside it, whose transactions
// are short: a request's worth. A command (roster admin) beside a busy
// server waits longer: SQLite's lock is not fair, and on a loaded machine
// the server's back-to-back commits kept one from its turn for 5 s.
const (
	serverBusyTimeout  = 5 * time.Second
	commandBusyTimeout = time.Minute
)

// Open opens (creating if needed) the database at path for the server and
// applies the pending migrations. The file and its -wal and -shm companions
// are made readable by the owner only: they hold phone numbers and address
// books.
func Open(ctx context.Context, path string, log *slog.Logger) (*DB, error) {
	return open(ctx, path, serverBusyTimeout, DefaultSQLiteMemory(), log)
}

// OpenForServer is Open with the server's memory settings.
func OpenForServer(ctx context.Context, path string, mem SQLiteMemory, log *slog.Logger) (*DB, error) {
	return open(ctx, path, serverBusyTimeout, mem, log)
}

// OpenForCommand is Open for a command that may run beside the server
// (roster admin): it waits longer for its turn at the write lock.
func OpenForCommand(ctx context.Context, path string, log *slog.Logger) (*DB, error) {
	return open(ctx, path, commandBusyTimeout, DefaultSQLiteMemory(), log)
}

// OpenSQLiteAsIs opens the SQLite database at path as a plain pool with a
// command's settings (roster backup): it creates no file and applies no
// migrations, so a newer binary never changes the database it reads.
func OpenSQLiteAsIs(path string) (*sql.DB, error) {
	return sql.Open("sqlite3", dsn(path, false, commandBusyTimeout, DefaultSQLiteMemory()))
}

// BulkLoadPool is the write pool itself, for offline bulk loads only: roster
// seed filling a new data directory and roster copy filling an empty
// PostgreSQL database, commands that hold the data directory's lock or
// write a database no server serves yet. They need what a transaction of
// WriteTx cannot give (PostgreSQL's COPY, SQLite's pragmas on the one
// connection); every other write goes through WriteTx.
func (d *DB) BulkLoadPool() (*sql.DB, error) { return d.Write.DB() }

func open(ctx context.Context, path string, busy time.Duration, mem SQLiteMemory, log *slog.Logger) (*DB, error) {
	if err := prepareFiles(path); err != nil {
		return nil, err
	}
	opened, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	cfg := func() *gorm.Config {
		return &gorm.Config{
			TranslateError: true,
			// Reuse compiled statements (SQLite parsing is a large share of a small
			// query), bounded so that queries with IN lists of many sizes do not
			// grow the cache without end. The readers' only: see openPool.
			PrepareStmt:        true,
			PrepareStmtMaxSize: 512,
			PrepareStmtTTL:     time.Hour,
			Logger:             gormLog{log: log.With("component", "gorm")}, // db_log.go: failures only, no values
			NowFunc:            func() time.Time { return time.Now().UTC() },
		}
	}
	sqlLog := log.With("component", "sqlite")
	w, err := openPool(path, false, busy, mem, cfg(), sqlLog)
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
	r, err := openPool(path, true, busy, mem, cfg(), sqlLog)
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
	// A reader unused this long is closed: its page cache, its compiled
	// statements and its map of the file go with it, so that the readers a
	// burst opened do not hold memory once it is over.
	rsql.SetConnMaxIdleTime(readerMaxIdle)
	ckpt := sql.OpenDB(&connector{dsn: dsn(path, false, busy, mem), driver: sqliteDriver(), log: sqlLog})
	ckpt.SetMaxOpenConns(1)
	d := &DB{Write: w, Read: r, dialect: dialectSQLite, ckpt: ckpt, writes: make(chan *writeJob), closed: make(chan struct{}),
		file: dbFile{path: path, opened: opened}, readers: n}
	d.writer.Go(d.runWriter)
	if err := d.analyzeIfNeeded(ctx, log); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// IsBusy reports whether err means that the request ran out of time waiting
// for the database (its deadline passed, SQLite's busy timeout expired, or
// a statement was interrupted by the deadline), or that the database could
// not be reached (IsOutage): either way the app is to try again shortly.
func IsBusy(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked || se.Code == sqlite3.ErrInterrupt
	}
	return postgresBusy(err) || IsOutage(err)
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
	default:
		return 0, "", nil
	}
	var n int64
	err := d.Read.WithContext(ctx).Raw(q).Scan(&n).Error
	return n, what, err
}

// statementContext is ctx for the statements of hot read paths whose
// connection was taken within ctx's deadline. On SQLite it drops the
// deadline: watching it costs the driver a goroutine per query or row,
// more than the statement. On PostgreSQL it keeps it: the statement waits
// on the network, which may stop answering.
func (d *DB) statementContext(ctx context.Context) context.Context {
	if d.dialect == dialectPostgres {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

// Postgres reports whether the database is PostgreSQL (not a SQLite file).
func (d *DB) Postgres() bool { return d.dialect == dialectPostgres }

// SQL picks the statement written for this database's dialect, where one
// text cannot serve both (models/POSTGRES.md lists them).
func (d *DB) SQL(sqlite, postgres string) string {
	if d.dialect == dialectPostgres {
		return postgres
	}
	return sqlite
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
	d.closeOnce.Do(func() { close(d.closed) })
	d.writer.Wait() // the batch under way commits first
	var errs []error
	if d.ckpt != nil {
		errs = append(errs, d.ckpt.Close())
	}
	pools := []*gorm.DB{d.Read, d.Write}
	if d.Read == d.Write {
		pools = pools[1:]
	}
	for _, g := range pools {
		if s, err := g.DB(); err == nil {
			errs = append(errs, s.Close())
		}
	}
	return errors.Join(errs...)
}

// queryer is a database, a connection or a transaction of database/sql.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// QueryStrings runs a query selecting one text column (the copy uses it
// too).
func QueryStrings(ctx context.Context, q queryer, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
