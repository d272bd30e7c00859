package web_test

import (
	"strings"
	"testing"

	"roster/web/webtest"
)

// A new database has the query planner's statistics from the start, and
// the readers map the file only as --sqlite-mmap-mib says (no map by
// default).
func TestDatabaseMaintenanceAtStart(t *testing.T) {
	webtest.SQLiteOnly(t, "SQLite's statistics and WAL checkpoints")
	e := webtest.New(t)
	if n := e.Count("SELECT COUNT(*) FROM sqlite_schema WHERE name = 'sqlite_stat1'"); n != 1 {
		t.Errorf("no statistics after start-up")
	}
	for args, want := range map[string]int64{"": 0, "--sqlite-mmap-mib 64": 64 << 20} {
		e := webtest.New(t, webtest.WithArgs(strings.Fields(args)...))
		var mmap int64
		if err := e.Server.DB().Read.Raw("PRAGMA mmap_size").Scan(&mmap).Error; err != nil || mmap != want {
			t.Errorf("%q: readers' mmap_size %d (%v), want %d", args, mmap, err, want)
		}
	}
}
