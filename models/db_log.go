package models

import (
	"context"
	"database/sql/driver"
	"errors"
	"log/slog"
	"regexp"
	"time"

	"github.com/mattn/go-sqlite3"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"gorm.io/gorm/utils"
)

// What the database logs: slow statements and failures, never a query's
// values (phone numbers, address-book hashes, user ids, tokens' hashes).
//
// Slow statements are timed in the driver, from the moment SQLite is
// handed the statement to the moment its rows are closed: the time a
// request spent waiting for the one writer connection (or a free reader)
// is not the statement's, and counting it flooded the log under load.
// The text logged is the one the driver receives, with ? placeholders:
// GORM's own trace inlines the values for Raw(...).Scan even with
// ParameterizedQueries, so GORM's logger logs failures without any SQL.

// slowSQL is the duration from which a statement is logged.
const slowSQL = 200 * time.Millisecond

// connector opens SQLite connections that time their statements.
type connector struct {
	dsn    string
	driver *sqlite3.SQLiteDriver
	log    *slog.Logger
	// keepStmts is how many compiled statements each connection keeps
	// (db_stmtcache.go); 0 keeps none.
	keepStmts int
	// begin is the statement that begins a transaction, the one the DSN's
	// _txlock makes the driver run; with keepStmts it is kept too.
	begin string
}

func (c *connector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.driver.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	t := &timedConn{conn: conn.(*sqlite3.SQLiteConn), log: c.log}
	if c.keepStmts > 0 {
		t.stmts = newStmtCache(c.keepStmts)
		t.begin = c.begin
	}
	return t, nil
}

func (c *connector) Driver() driver.Driver { return c.driver }

type timedConn struct {
	conn  *sqlite3.SQLiteConn
	log   *slog.Logger
	stmts *stmtCache // nil: every statement is compiled for its call
	begin string     // "": the driver begins and ends transactions itself
}

var collapseList = regexp.MustCompile(`\?(\s*,\s*\?)+`)

// done logs a statement that took longer than slowSQL. It runs on every
// statement: the common path is one comparison.
func (c *timedConn) done(query string, start time.Time) {
	if d := time.Since(start); d >= slowSQL {
		q := collapseList.ReplaceAllString(query, "?, ...") // an IN list of 10,000 numbers is one "?, ..."
		c.log.Warn("slow SQL statement", "duration", d, "sql", truncate(q, 500))
	}
}

func (c *timedConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *timedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return &timedStmt{stmt: st.(*sqlite3.SQLiteStmt), conn: c, query: query}, nil
}

func (c *timedConn) Close() error {
	c.stmts.close()
	return c.conn.Close()
}

func (c *timedConn) Begin() (driver.Tx, error) { return c.conn.Begin() }
func (c *timedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if c.begin == "" {
		return c.conn.BeginTx(ctx, opts)
	}
	if err := c.execKept(ctx, c.begin); err != nil {
		return nil, err
	}
	return keptTx{c}, nil
}

// execKept runs a statement without arguments on a kept statement, not
// timed: BEGIN, COMMIT and ROLLBACK, which the driver would compile for
// each transaction.
func (c *timedConn) execKept(ctx context.Context, query string) error {
	if cs := c.stmts.take(c.conn, query, nil); cs != nil {
		_, err := cs.stmt.ExecContext(ctx, nil)
		c.stmts.giveBack(cs, true)
		return err
	}
	_, err := c.conn.ExecContext(ctx, query, nil)
	return err
}

// keptTx ends a transaction begun on a kept statement as the driver's own
// transaction does.
type keptTx struct{ c *timedConn }

func (t keptTx) Commit() error {
	err := t.c.execKept(context.Background(), "COMMIT")
	if err != nil {
		// SQLite may leave the transaction open when COMMIT fails, and
		// database/sql counts it ended: the driver rolls it back too.
		t.c.execKept(context.Background(), "ROLLBACK")
	}
	return err
}

func (t keptTx) Rollback() error                    { return t.c.execKept(context.Background(), "ROLLBACK") }
func (c *timedConn) Ping(ctx context.Context) error { return c.conn.Ping(ctx) }

func (c *timedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	defer c.done(query, time.Now())
	if cs := c.stmts.take(c.conn, query, args); cs != nil {
		res, err := cs.stmt.ExecContext(ctx, args)
		c.stmts.giveBack(cs, true)
		return res, err
	}
	return c.conn.ExecContext(ctx, query, args)
}

func (c *timedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	start := time.Now()
	if cs := c.stmts.take(c.conn, query, args); cs != nil {
		rows, err := cs.stmt.QueryContext(ctx, args)
		if err != nil {
			c.stmts.giveBack(cs, true)
			c.done(query, start)
			return nil, err
		}
		return &timedRows{SQLiteRows: rows.(*sqlite3.SQLiteRows), conn: c, query: query, start: start, lent: cs}, nil
	}
	rows, err := c.conn.QueryContext(ctx, query, args)
	if err != nil {
		c.done(query, start)
		return nil, err
	}
	return &timedRows{SQLiteRows: rows.(*sqlite3.SQLiteRows), conn: c, query: query, start: start}, nil
}

type timedStmt struct {
	stmt  *sqlite3.SQLiteStmt
	conn  *timedConn
	query string
}

func (s *timedStmt) Close() error  { return s.stmt.Close() }
func (s *timedStmt) NumInput() int { return s.stmt.NumInput() }

func (s *timedStmt) Exec(args []driver.Value) (driver.Result, error) {
	defer s.conn.done(s.query, time.Now())
	return s.stmt.Exec(args)
}

func (s *timedStmt) Query(args []driver.Value) (driver.Rows, error) {
	start := time.Now()
	rows, err := s.stmt.Query(args)
	return s.rows(rows, err, start)
}

func (s *timedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	defer s.conn.done(s.query, time.Now())
	return s.stmt.ExecContext(ctx, args)
}

func (s *timedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	start := time.Now()
	rows, err := s.stmt.QueryContext(ctx, args)
	return s.rows(rows, err, start)
}

func (s *timedStmt) rows(rows driver.Rows, err error, start time.Time) (driver.Rows, error) {
	if err != nil {
		s.conn.done(s.query, start)
		return nil, err
	}
	return &timedRows{SQLiteRows: rows.(*sqlite3.SQLiteRows), conn: s.conn, query: s.query, start: start}, nil
}

// timedRows ends a query's time when its rows are closed: SQLite computes
// rows as they are read. The embedded rows keep their column-type methods.
type timedRows struct {
	*sqlite3.SQLiteRows
	conn  *timedConn
	query string
	start time.Time
	lent  *cachedStmt // the connection's kept statement, given back on Close
}

func (r *timedRows) Close() error {
	defer r.conn.done(r.query, r.start)
	err := r.SQLiteRows.Close()
	if r.lent != nil {
		r.conn.stmts.giveBack(r.lent, false) // closing the rows reset it
		r.lent = nil
	}
	return err
}

// gormLog is GORM's logger: failures only, with where they happened and
// never the statement (see above).
type gormLog struct{ log *slog.Logger }

func (l gormLog) LogMode(logger.LogLevel) logger.Interface { return l }
func (l gormLog) Info(context.Context, string, ...any)     {}
func (l gormLog) Warn(ctx context.Context, msg string, _ ...any) {
	l.log.WarnContext(ctx, msg)
}
func (l gormLog) Error(ctx context.Context, msg string, _ ...any) {
	l.log.ErrorContext(ctx, msg)
}

func (l gormLog) Trace(ctx context.Context, _ time.Time, _ func() (string, int64), err error) {
	// A duplicate key is an answer the caller handles (an admin name taken,
	// another instance creating the first owner at the same moment), not a
	// failure to report.
	if err == nil || errors.Is(err, gorm.ErrRecordNotFound) || errors.Is(err, context.Canceled) || errors.Is(err, gorm.ErrDuplicatedKey) {
		return
	}
	l.log.ErrorContext(ctx, "SQL statement failed", "err", err, "at", utils.FileWithLineNum())
}
