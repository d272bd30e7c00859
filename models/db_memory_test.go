package models

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
)

// The server's SQLite memory settings reach every connection: the shared
// map of the file (0: none) and each connection's page cache.
func TestSQLiteMemorySettingsReachTheConnections(t *testing.T) {
	for _, tc := range []struct {
		mem       SQLiteMemory
		mmap, kib int64
	}{
		{DefaultSQLiteMemory(), 0, -8 * 1024},
		{SQLiteMemory{MmapMiB: 1024, CacheMiB: 32}, 1 << 30, -32 * 1024},
	} {
		db, err := OpenForServer(context.Background(), filepath.Join(t.TempDir(), "roster.db"), tc.mem, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		for name, pool := range map[string]func() (int64, int64){
			"reader": func() (m, c int64) {
				db.Read.Raw("PRAGMA mmap_size").Scan(&m)
				db.Read.Raw("PRAGMA cache_size").Scan(&c)
				return
			},
			"writer": func() (m, c int64) {
				db.WriteTx(context.Background(), func(tx *Tx) error {
					tx.Raw("PRAGMA mmap_size").Scan(&m)
					return tx.Raw("PRAGMA cache_size").Scan(&c).Error
				})
				return
			},
		} {
			if m, c := pool(); m != tc.mmap || c != tc.kib {
				t.Errorf("%+v, %s: mmap_size %d, cache_size %d; want %d, %d", tc.mem, name, m, c, tc.mmap, tc.kib)
			}
		}
		db.Close()
	}
}
