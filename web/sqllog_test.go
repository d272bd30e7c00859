package web_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"roster/web/webtest"
)

// A slow statement is logged with its placeholders, never its values; a
// statement that only waited for the writer connection is not slow.
func TestSlowSQLLogsNoValuesAndTimesTheQuery(t *testing.T) {
	webtest.SQLiteOnly(t, "the SQLite driver's statement timer (db_log.go)")
	e := webtest.New(t)
	const secret = "hash-of-someones-number-0123456789"
	var n int64
	// About half a second of SQLite work, with a value that must not leak.
	err := e.Server.DB().Read.Raw(`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?)
		SELECT COUNT(*) FROM c WHERE ? <> ''`, 3_000_001, secret).Scan(&n).Error
	if err != nil || n != 3_000_001 {
		t.Fatalf("%d %v", n, err)
	}
	logs := e.Logs()
	if !strings.Contains(logs, "slow SQL statement") && !strings.Contains(logs, "SQL executed") {
		t.Fatalf("the slow statement was not logged: %s", logs)
	}
	if strings.Contains(logs, secret) || strings.Contains(logs, "3000001") {
		t.Errorf("a query value reached the log: %s", logs)
	}

	// Hold the writer for 400 ms; a quick update waits behind it.
	slowLines := func() int {
		return strings.Count(e.Logs(), "slow SQL statement") + strings.Count(e.Logs(), "SQL executed")
	}
	before := slowLines()
	var wg sync.WaitGroup
	held := make(chan struct{})
	wg.Go(func() {
		_ = e.Server.DB().Write.Transaction(func(tx *gorm.DB) error {
			close(held)
			time.Sleep(400 * time.Millisecond)
			return nil
		})
	})
	<-held
	start := time.Now()
	if err := e.Server.DB().Write.Exec("UPDATE users SET name = name WHERE id = ?", -1).Error; err != nil {
		t.Fatal(err)
	}
	waited := time.Since(start)
	wg.Wait()
	if waited < 300*time.Millisecond {
		t.Fatalf("the update did not wait (%s): the test proves nothing", waited)
	}
	if after := slowLines(); after != before {
		t.Errorf("waiting %s for the writer was logged as a slow statement: %s", waited, e.Logs())
	}
}
