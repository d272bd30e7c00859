package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
)

// PostgresPool sizes the connection pool of one Roster instance. Several
// instances share the server's max_connections (100 by default), so the
// pool is bounded rather than left to grow under load.
type PostgresPool struct {
	MaxOpen     int           // connections open at once
	MaxIdle     int           // connections kept open while idle
	MaxLifetime time.Duration // a connection is replaced after this long (0: never)
	MaxIdleTime time.Duration // an idle connection is closed after this long (0: never)
	// LockTimeout bounds every wait for a lock on the server's side
	// (PostgreSQL's lock_timeout, unless the URL sets one), beside the
	// request's context on the client's: a statement the client gave up
	// on would otherwise go on waiting there, holding the locks its
	// transaction took, and statements without a deadline (chores) would
	// wait without end. Past it the statement fails with 55P03, which
	// IsBusy reports (the app is told BUSY). 0: wait as long as it takes.
	LockTimeout time.Duration
}

// Waits on the network, unless the URL sets its own (connect_timeout,
// tcp_keepalives_*). A server that accepts connections and never answers
// (frozen, or behind a stalled network) would otherwise hold a new
// connection, and so the start, without end; keepalives find a server or
// client that is gone while a connection idles (a LISTEN, a pooled
// connection), from each side.
const (
	connectTimeout    = 10 * time.Second
	keepaliveIdle     = 15 * time.Second
	keepaliveInterval = 5 * time.Second
	keepaliveCount    = 3
)

// OpenPostgres opens the PostgreSQL database at url (postgres://…) through
// pgx and applies the pending migrations under the migration lock. Reads
// and writes share one pool, and write transactions run side by side, on
// this instance and on the others (writePostgres): each rule that SQLite's
// single writer kept by itself (exactly N tries per code, quotas, the
// allowance, the outbox) is kept by its statements, with a condition in one
// statement or a row lock. --database-url opens it (web); models/POSTGRES.md
// says how the statements differ.
func OpenPostgres(ctx context.Context, url string, pool PostgresPool, log *slog.Logger) (*DB, error) {
	g, err := openPostgresPool(ctx, url, pool, log)
	if err != nil {
		return nil, err
	}
	return &DB{Write: g, Read: g, dialect: dialectPostgres, closed: make(chan struct{})}, nil
}

// maxWriteAttempts bounds how often writePostgres runs a transaction that
// lost a race (a deadlock, or a row another transaction inserted first).
const maxWriteAttempts = 4

// writePostgres runs fn in a transaction of its own, beside other
// instances' and this one's. A transaction that PostgreSQL ended as a
// deadlock victim, or that inserted a key another transaction committed
// after fn looked for it, is run again from the start: the rollback undid
// it, and the second run sees the other's row.
//
// Unlike the SQLite writer's, fn's statements end with ctx: a server that
// stopped answering (frozen, or behind a stalled network) would otherwise
// hold the request past its deadline. Ended before its COMMIT, the
// transaction is rolled back. The COMMIT gets commitGrace past ctx's end,
// so that a deadline passing while it is under way does not leave a
// stored change unreported; a COMMIT unanswered even then may or may not
// have been stored, and the caller is told an error (BUSY), never that it
// was stored. The server ends the transaction's statements at the
// deadline too (statement_timeout), so one the client gave up on does not
// hold its row locks past it.
func (d *DB) writePostgres(ctx context.Context, fn func(tx *Tx) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		select {
		case <-d.closed:
			return errClosed
		default:
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		txCtx, committing, cancel := commitContext(ctx)
		err = d.Write.WithContext(txCtx).Transaction(func(tx *gorm.DB) error {
			tx = tx.WithContext(ctx)
			if err := limitStatements(tx, ctx); err != nil {
				return err
			}
			if err := callJob(&Tx{DB: tx}, fn); err != nil {
				return err
			}
			committing.Store(true)
			return nil
		})
		cancel()
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			err = ctx.Err() // txCtx ended because ctx did: say why
		}
		if attempt == maxWriteAttempts || !lostRace(err) {
			return err
		}
		// Deadlock victims collide again if they retry in step.
		t := time.NewTimer(time.Duration(attempt) * time.Duration(1+rand.N(4)) * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
	}
}

// commitGrace is how long a write transaction's COMMIT may outlast the
// caller's deadline.
const commitGrace = time.Second

// commitContext is the context of a write transaction (its connection,
// BEGIN and COMMIT): ctx's values, ended with ctx, except once committing
// is set (fn is done, the COMMIT is next): then commitGrace later.
func commitContext(ctx context.Context) (context.Context, *atomic.Bool, context.CancelFunc) {
	txCtx, cancelTx := context.WithCancel(context.WithoutCancel(ctx))
	committing := new(atomic.Bool)
	stop := context.AfterFunc(ctx, func() {
		if committing.Load() {
			time.AfterFunc(commitGrace, cancelTx)
			return
		}
		cancelTx()
	})
	return txCtx, committing, func() { stop(); cancelTx() }
}

// limitStatements sets the transaction's statement_timeout to the time
// left before ctx's deadline (none: the server's setting stands).
func limitStatements(tx *gorm.DB, ctx context.Context) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		return nil
	}
	ms := max(time.Until(deadline).Milliseconds(), 1)
	return tx.Exec("SELECT set_config('statement_timeout', ?, true)", strconv.FormatInt(ms, 10)).Error
}

// lostRace reports an error that running the transaction again can cure:
// a serialization failure or a deadlock (which PostgreSQL asks to retry), a
// unique key that another transaction took between fn's look and its
// insert (the next run finds that row).
func lostRace(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01") {
		return true
	}
	// gorm's translation to ErrDuplicatedKey keeps the PgError too.
	return errors.Is(err, gorm.ErrDuplicatedKey)
}

// openPostgresPool opens and migrates the pool.
func openPostgresPool(ctx context.Context, url string, pool PostgresPool, log *slog.Logger) (*gorm.DB, error) {
	pcfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("the database URL: %w", err)
	}
	if _, set := pcfg.RuntimeParams["lock_timeout"]; !set && pool.LockTimeout > 0 {
		pcfg.RuntimeParams["lock_timeout"] = strconv.FormatInt(pool.LockTimeout.Milliseconds(), 10)
	}
	boundNetworkWaits(pcfg)
	g, err := gorm.Open(postgres.New(postgres.Config{Conn: stdlib.OpenDB(*pcfg)}), &gorm.Config{
		TranslateError: true,
		Logger:         gormLog{log: log.With("component", "gorm")}, // db_log.go: failures only, no values
		NowFunc:        func() time.Time { return time.Now().UTC() },
		// Its ping has no context: a start that a signal cannot end. The
		// pool is pinged below, within ctx.
		DisableAutomaticPing: true,
	})
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL: %w", err)
	}
	db, err := g.DB()
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(pool.MaxOpen)
	db.SetMaxIdleConns(pool.MaxIdle)
	db.SetConnMaxLifetime(pool.MaxLifetime)
	db.SetConnMaxIdleTime(pool.MaxIdleTime)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("connect to PostgreSQL: no answer within %s (the URL's connect_timeout sets another limit): %w",
				pcfg.ConnectTimeout, err)
		}
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	if err := migrateDialect(ctx, db, dialectPostgres, log); err != nil {
		db.Close()
		return nil, err
	}
	return g, nil
}

// boundNetworkWaits sets the connect timeout and the keepalives of both
// ends where the URL leaves them unset.
func boundNetworkWaits(pcfg *pgx.ConnConfig) {
	if pcfg.ConnectTimeout == 0 {
		pcfg.ConnectTimeout = connectTimeout
	}
	dialer := &net.Dialer{Timeout: pcfg.ConnectTimeout, KeepAliveConfig: net.KeepAliveConfig{
		Enable: true, Idle: keepaliveIdle, Interval: keepaliveInterval, Count: keepaliveCount}}
	pcfg.DialFunc = dialer.DialContext
	for name, v := range map[string]string{
		"tcp_keepalives_idle":     strconv.Itoa(int(keepaliveIdle.Seconds())),
		"tcp_keepalives_interval": strconv.Itoa(int(keepaliveInterval.Seconds())),
		"tcp_keepalives_count":    strconv.Itoa(keepaliveCount),
	} {
		if _, set := pcfg.RuntimeParams[name]; !set {
			pcfg.RuntimeParams[name] = v
		}
	}
}

// postgresBusy reports PostgreSQL's errors of a request that ran out of
// time or lost a race it may retry: a cancelled statement, a lock not
// available, a serialization failure or a deadlock.
func postgresBusy(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "57014", "55P03", "40001", "40P01":
		return true
	}
	return false
}

// IsOutage reports a server that could not be reached, or a connection to
// it that was lost: PostgreSQL restarting, shutting down or out of
// connections, a network failing. Retrying later may succeed (the app is
// told BUSY), and the operator needs to hear of it. A deadline that
// passed is not one: that is IsBusy's.
func IsOutage(err error) bool {
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "57P01", "57P02", "57P03", "53300":
			return true
		}
		return strings.HasPrefix(pe.Code, "08") // connection exceptions
	}
	var ce *pgconn.ConnectError
	// pgconn's errors of the connection itself (a lost or closed
	// connection) tell whether the statement may be sent again; the
	// server's answers (PgError) never do.
	var connErr interface{ SafeToRetry() bool }
	if errors.As(err, &ce) || errors.As(err, &connErr) {
		return true
	}
	// database/sql found only lost connections; a read cut short, a
	// connection reset, refused or closed (pgx returns these bare).
	for _, lost := range []error{driver.ErrBadConn, io.ErrUnexpectedEOF, syscall.ECONNRESET, syscall.ECONNREFUSED, syscall.EPIPE, net.ErrClosed} {
		if errors.Is(err, lost) {
			return true
		}
	}
	return false
}

// Chores that one instance at a time does for all (lock keys, beside
// migrationLockKey).
const (
	ChorePrune         int64 = 7_001_000_002 // deleting codes, messages and events past their retention
	ChoreDeletePending int64 = 7_001_000_025 // deleting accounts at the end of their deletion grace period
)

// unlockTimeout bounds the release of a chore's lock.
const unlockTimeout = 5 * time.Second

// OnOneInstance runs fn unless another instance sharing the database is
// already doing the same chore: on PostgreSQL a session-level
// pg_try_advisory_lock(chore) is held while fn runs, and a chore another
// instance holds is skipped this round. SQLite has one instance: fn runs.
func (d *DB) OnOneInstance(ctx context.Context, chore int64, fn func() error) (ran bool, err error) {
	if d.dialect != dialectPostgres {
		return true, fn()
	}
	sqlDB, err := d.Write.DB()
	if err != nil {
		return false, err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	var got bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", chore).Scan(&got); err != nil || !got {
		return false, err
	}
	defer func() {
		// Even once ctx is done, within a bound: a server that stopped
		// answering must not hold the shutdown. An unlock that does not
		// get through closes the connection, and the server lets go of
		// the lock with the session.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
		defer cancel()
		conn.ExecContext(uctx, "SELECT pg_advisory_unlock($1)", chore)
	}()
	return true, fn()
}

// OnPgxConn runs f on one connection of the pool as pgx sees it, for what
// database/sql does not offer (COPY, LISTEN).
func OnPgxConn(ctx context.Context, pool *sql.DB, f func(*pgx.Conn) error) error {
	conn, err := pool.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error { return f(dc.(*stdlib.Conn).Conn()) })
}

// pgArray passes a slice as one PostgreSQL array parameter. GORM expands a
// bare slice into a list of placeholders, which the server parses and
// binds one by one (a thousand numbers: a thousand parameters); a
// driver.Valuer it passes whole, and pgx encodes the slice it returns as an
// array. PostgreSQL only: SQLite has no arrays.
type pgArray[T int64 | string | []byte] []T

// Value returns the slice itself, for pgx to encode (pgx accepts any type
// it can encode, not only database/sql's few).
func (a pgArray[T]) Value() (driver.Value, error) { return []T(a), nil }

// inList is the condition that col is one of values, with its argument:
// on SQLite `col IN ?` (GORM writes one placeholder per value), on
// PostgreSQL `col = ANY(?)` with the values as one array parameter.
func inList[T int64 | string | []byte](tx *gorm.DB, col string, values []T) (string, any) {
	if onPostgres(tx) {
		return col + " = ANY(?)", pgArray[T](values)
	}
	return col + " IN ?", values
}
