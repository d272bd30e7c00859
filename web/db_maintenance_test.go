package web_test

import (
	"testing"

	"roster/web/webtest"
)

// A new database has the query planner's statistics from the start, and
// the readers map the file.
func TestDatabaseMaintenanceAtStart(t *testing.T) {
	webtest.SQLiteOnly(t, "SQLite's statistics and WAL checkpoints")
	e := webtest.New(t)
	if n := e.Count("SELECT COUNT(*) FROM sqlite_schema WHERE name = 'sqlite_stat1'"); n != 1 {
		t.Errorf("no statistics after start-up")
	}
	var mmap int64
	if err := e.Server.DB().Read.Raw("PRAGMA mmap_size").Scan(&mmap).Error; err != nil || mmap < 1<<20 {
		t.Errorf("readers' mmap_size %d (%v)", mmap, err)
	}
}
