package models

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"
)

// writeConn runs f on the writer's connection (between batches: the
// writer holds it only while it runs one).
func writeConn(t *testing.T, db *DB, f func(c *timedConn)) {
	t.Helper()
	pool, err := db.Write.DB()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pool.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Raw(func(dc any) error { f(dc.(*timedConn)); return nil }); err != nil {
		t.Fatal(err)
	}
}

// countCompiles counts the statements SQLite compiles on the write
// connection from now on: SQLite asks the authorizer while it compiles a
// statement, never while it runs one.
func countCompiles(t *testing.T, db *DB) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	writeConn(t, db, func(c *timedConn) {
		c.conn.RegisterAuthorizer(func(int, string, string, string) int {
			n.Add(1)
			return sqlite3.SQLITE_OK
		})
	})
	t.Cleanup(func() { writeConn(t, db, func(c *timedConn) { c.conn.RegisterAuthorizer(nil) }) })
	return &n
}

// A sign-in repeated for new numbers compiles none of the writer's
// statements again: every text it runs was compiled by the first ones.
func TestWriterCompilesASignInsStatementsOnce(t *testing.T) {
	db := openTestDB(t)
	clock := NewFakeClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	s := benchSignIn(db, clock, "123456")
	ctx := context.Background()
	signIn := func(i int) {
		t.Helper()
		p := benchPhone(i)
		if err := s.RequestCode(ctx, p, ClientInfo{UserAgent: "t", Device: "d"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.VerifyCode(ctx, p, "000000", "", ClientInfo{}); err == nil {
			t.Fatal("a wrong code was accepted")
		}
		if _, err := s.VerifyCode(ctx, p, "123456", "Name", ClientInfo{UserAgent: "t", Device: "d"}); err != nil {
			t.Fatal(err)
		}
	}
	compiles := countCompiles(t, db)
	signIn(1)
	signIn(2)
	if compiles.Load() == 0 {
		t.Fatal("the first sign-ins compiled nothing: the count does not see compilation")
	}
	warm := compiles.Load()
	for i := 3; i < 13; i++ {
		signIn(i)
	}
	if n := compiles.Load() - warm; n != 0 {
		t.Errorf("ten more sign-ins compiled on the writer (%d authorizer calls); want none", n)
	}
}

// Statements whose text varies with each call do not grow the kept
// statements beyond their bound, and each still answers its own call.
func TestWriterKeepsABoundedNumberOfStatements(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	for i := range writeStmtCacheSize + 50 {
		got, err := WriteTx(ctx, db, func(tx *Tx) (int, error) {
			var v int
			err := tx.Raw(fmt.Sprintf("SELECT ? + %d", i), 1).Scan(&v).Error
			return v, err
		})
		if err != nil || got != i+1 {
			t.Fatalf("SELECT ? + %d with 1 = %d, %v", i, got, err)
		}
	}
	writeConn(t, db, func(c *timedConn) {
		if n := c.stmts.lru.Len(); n != writeStmtCacheSize || len(c.stmts.byText) != n {
			t.Errorf("kept %d statements (%d by text); want the bound, %d", n, len(c.stmts.byText), writeStmtCacheSize)
		}
	})
}

// A statement is lent to one call at a time: the same query run while its
// rows are still being read gets its own, and a statement that returns
// rows run as an Exec is finished before its transaction commits.
func TestWriterStatementInUseIsNotShared(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	const list = "SELECT phone FROM phone_guards ORDER BY phone"
	err := db.WriteTx(ctx, func(tx *Tx) error {
		for _, p := range []string{"+1", "+2", "+3"} {
			// RETURNING: the statement has a row left when Exec returns.
			if err := tx.Exec("INSERT INTO phone_guards (phone, failures, updated_at) VALUES (?, 0, 0) RETURNING phone", p).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := WriteTx(ctx, db, func(tx *Tx) ([]string, error) {
		outer, err := tx.Raw(list).Rows()
		if err != nil {
			return nil, err
		}
		defer outer.Close()
		var out []string
		for outer.Next() {
			var a string
			if err := outer.Scan(&a); err != nil {
				return nil, err
			}
			inner, err := QueryStrings(ctx, tx.Statement.ConnPool.(*sql.Tx), list)
			if err != nil {
				return nil, err
			}
			for _, b := range inner {
				out = append(out, a+b)
			}
		}
		return out, outer.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := 9; len(pairs) != want || pairs[0] != "+1+1" || pairs[8] != "+3+3" {
		t.Errorf("pairs = %v; want the 9 pairs of +1, +2, +3", pairs)
	}
}
