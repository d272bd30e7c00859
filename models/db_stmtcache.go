package models

import (
	"container/list"
	"context"
	"database/sql/driver"
	"strings"
	"sync"

	"github.com/mattn/go-sqlite3"
)

// The write connection's compiled statements. GORM's statement cache
// (PrepareStmt) does not serve transactions: inside one it prepares the
// statement on the *sql.Tx, and database/sql's Tx.StmtContext compiles a
// statement bound to a transaction (or one closed when its transaction
// ended) again on every call. Every write runs in a transaction of the
// writer, so through GORM's cache each of its statements would be compiled
// on every run: a fifth of the CPU of a wrong-code check. The write
// connection therefore keeps its own statements, by text, in the driver,
// where the transaction does not matter.

// writeStmtCacheSize bounds the statements the write connection keeps; the
// least recently used one is finalized to make room.
const writeStmtCacheSize = 256

// maxCachedStmtArgs: a statement with more arguments is compiled for its
// call alone. Its text almost always carries a list whose length varies
// with the call (IN (?, ?, ...), a batch insert), so keeping it would only
// push out statements that are used again.
const maxCachedStmtArgs = 64

// stmtCache is one connection's compiled statements, least recently used
// last. A statement is lent to one call at a time (inUse): a query whose
// rows are still open keeps it, and the same text asked for meanwhile is
// compiled for that call alone.
type stmtCache struct {
	mu     sync.Mutex
	max    int
	byText map[string]*list.Element // of *cachedStmt
	lru    list.List
}

type cachedStmt struct {
	text  string
	stmt  *sqlite3.SQLiteStmt
	inUse bool
	// dropped: pushed out while lent; finalized when given back.
	dropped bool
}

func newStmtCache(max int) *stmtCache {
	return &stmtCache{max: max, byText: map[string]*list.Element{}}
}

// cacheable reports whether a call may run on a kept statement: one
// statement (the driver runs every statement of a text with several, a
// compiled statement only the first), positional arguments, and not a
// varying list (maxCachedStmtArgs).
func cacheable(query string, args []driver.NamedValue) bool {
	if len(args) > maxCachedStmtArgs || strings.Contains(query, ";") {
		return false
	}
	for _, a := range args {
		if a.Name != "" {
			return false
		}
	}
	return true
}

// take lends the compiled statement for query, compiling and keeping it
// if needed. It returns nil when the call must go the driver's own way
// (compiled for itself): not cacheable, lent to another call, a text that
// does not compile (the driver's way reports the error), or a number of
// arguments the statement does not take (the driver's way answers that
// as it always does).
func (c *stmtCache) take(conn *sqlite3.SQLiteConn, query string, args []driver.NamedValue) *cachedStmt {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !cacheable(query, args) {
		return nil
	}
	var cs *cachedStmt
	if e, ok := c.byText[query]; ok {
		cs = e.Value.(*cachedStmt)
		if cs.inUse {
			return nil
		}
		c.lru.MoveToFront(e)
	} else {
		st, err := conn.Prepare(query)
		if err != nil {
			return nil
		}
		cs = &cachedStmt{text: query, stmt: st.(*sqlite3.SQLiteStmt)}
		c.byText[query] = c.lru.PushFront(cs)
		c.trim()
	}
	if cs.stmt.NumInput() != len(args) {
		return nil
	}
	cs.inUse = true
	return cs
}

// trim finalizes the least recently used statements beyond max.
func (c *stmtCache) trim() {
	for c.lru.Len() > c.max {
		cs := c.lru.Remove(c.lru.Back()).(*cachedStmt)
		delete(c.byText, cs.text)
		if cs.inUse {
			cs.dropped = true
			continue
		}
		cs.stmt.Close()
	}
}

// giveBack returns a lent statement. reset: the call stepped it without
// reading it to the end (an Exec of a statement that returns rows stops
// at the first row), and an unfinished statement would keep its
// transaction open; a query's rows reset it when they close.
func (c *stmtCache) giveBack(cs *cachedStmt, reset bool) {
	if reset {
		// The driver resets a statement when rows it returned close
		// (sqlite3_reset); opening them binds nothing and steps nothing.
		if rows, err := cs.stmt.QueryContext(context.Background(), nil); err == nil {
			rows.Close()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cs.inUse = false
	if cs.dropped {
		cs.stmt.Close()
	}
}

// close finalizes every kept statement (the connection is closing).
func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for e := c.lru.Front(); e != nil; e = e.Next() {
		e.Value.(*cachedStmt).stmt.Close()
	}
	c.lru.Init()
	clear(c.byText)
}
