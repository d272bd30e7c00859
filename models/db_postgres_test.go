package models

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"gorm.io/gorm"
	"roster/models/pgtest"
)

// freshPostgres returns a new, empty database for one test (pgtest.Fresh).
func freshPostgres(t *testing.T) string { return pgtest.Fresh(t) }

// testPostgres opens a migrated, empty PostgreSQL database for one test.
func testPostgres(t *testing.T) *gorm.DB {
	t.Helper()
	g, err := openPostgresPool(context.Background(), freshPostgres(t), PostgresPool{MaxOpen: 4, MaxIdle: 4}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if db, err := g.DB(); err == nil {
			db.Close()
		}
	})
	return g
}

// appliedCounter is a slog handler that counts "applied migration" records:
// how many migrations a migrate call (or several) really ran.
type appliedCounter struct{ n *atomic.Int64 }

func (c appliedCounter) Enabled(context.Context, slog.Level) bool { return true }
func (c appliedCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "applied migration" {
		c.n.Add(1)
	}
	return nil
}
func (c appliedCounter) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c appliedCounter) WithGroup(string) slog.Handler      { return c }

func TestMigrationsSameVersionsOnBothDialects(t *testing.T) {
	lite, err := dialectSQLite.migrations()
	if err != nil {
		t.Fatal(err)
	}
	pg, err := dialectPostgres.migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) != len(pg) {
		t.Fatalf("sqlite has %d migrations, postgres %d", len(lite), len(pg))
	}
	for i := range lite {
		if lite[i].version != pg[i].version || lite[i].name != pg[i].name {
			t.Errorf("migration %d: sqlite %04d_%s, postgres %04d_%s", i, lite[i].version, lite[i].name, pg[i].version, pg[i].name)
		}
	}
}

func schemaVersions(t *testing.T, db *sql.DB) []int {
	t.Helper()
	rows, err := db.Query("SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	return vs
}

func wantAllVersions(t *testing.T, got []int) {
	t.Helper()
	ms, err := dialectPostgres.migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ms) {
		t.Fatalf("schema_migrations holds %v, want %d versions", got, len(ms))
	}
	for i, m := range ms {
		if got[i] != m.version {
			t.Fatalf("schema_migrations holds %v, want the versions of %v", got, ms)
		}
	}
}

func TestPostgresMigrationsFromEmptyThenNoOp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	applied := &atomic.Int64{}
	log := slog.New(appliedCounter{n: applied})
	g, err := openPostgresPool(ctx, freshPostgres(t), PostgresPool{MaxOpen: 2, MaxIdle: 2}, log)
	if err != nil {
		t.Fatal(err)
	}
	db, err := g.DB()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ms, _ := dialectPostgres.migrations()
	if applied.Load() != int64(len(ms)) {
		t.Errorf("applied %d migrations on an empty database, want %d", applied.Load(), len(ms))
	}
	wantAllVersions(t, schemaVersions(t, db))

	applied.Store(0)
	if err := migrateDialect(ctx, db, dialectPostgres, log); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	if applied.Load() != 0 {
		t.Errorf("migrating a migrated database applied %d migrations", applied.Load())
	}
	wantAllVersions(t, schemaVersions(t, db))
}

// Instances that start together on an empty database all succeed, and each
// migration is applied once: the advisory lock makes them take turns.
func TestPostgresConcurrentMigrate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := freshPostgres(t)
	const instances = 10
	applied := &atomic.Int64{}
	log := slog.New(appliedCounter{n: applied})
	start := make(chan struct{})
	errs := make([]error, instances)
	var wg sync.WaitGroup
	for i := range instances {
		db, err := sql.Open("pgx", url) // a pool of its own, like another process
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		wg.Go(func() {
			<-start
			errs[i] = migrateDialect(ctx, db, dialectPostgres, log)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: %v", i, err)
		}
	}
	ms, _ := dialectPostgres.migrations()
	if applied.Load() != int64(len(ms)) {
		t.Errorf("%d instances applied %d migrations together, want each of the %d once", instances, applied.Load(), len(ms))
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	wantAllVersions(t, schemaVersions(t, db))
}

func TestPostgresAuditLogIsAppendOnly(t *testing.T) {
	t.Parallel()
	g := testPostgres(t)
	now := time.Now().UnixMilli()
	if err := g.Exec("INSERT INTO audit_log (at, actor, type) VALUES (?, 'system', 'test')", now).Error; err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{"UPDATE audit_log SET detail = 'changed'", "DELETE FROM audit_log", "TRUNCATE audit_log"} {
		if err := g.Exec(stmt).Error; err == nil {
			t.Errorf("%s succeeded on the append-only audit log", stmt)
		}
	}
}

// onEachDatabase runs f on a fresh SQLite database and on a fresh
// PostgreSQL one (skipped without ROSTER_TEST_DATABASE_URL outside CI).
func onEachDatabase(t *testing.T, f func(t *testing.T, db *DB)) {
	t.Run("sqlite", func(t *testing.T) { f(t, openTestDB(t)) })
	t.Run("postgres", func(t *testing.T) { f(t, openTestPostgres(t, PostgresPool{MaxOpen: 4, MaxIdle: 4})) })
}

// inList selects the same rows on both databases, whatever the values'
// type: an IN list on SQLite, one array parameter on PostgreSQL.
func TestInListSelectsTheSameRows(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, db *DB) {
		for i, phone := range []string{"+12015550101", "+12015550102", "+12015550103"} {
			err := db.WriteTx(context.Background(), func(tx *Tx) error {
				return tx.Exec("INSERT INTO users (id, phone, country_code, created_at, profile_at, phone_hash) VALUES (?, ?, 1, 0, 0, ?)",
					int64(i+1), phone, []byte{byte(i + 1), 0}).Error
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		selected := func(col string, cond string, arg any) []int64 {
			t.Helper()
			var got []int64
			if err := db.Read.Raw("SELECT id FROM users WHERE "+cond+" ORDER BY id", arg).Scan(&got).Error; err != nil {
				t.Fatalf("%s: %v", col, err)
			}
			return got
		}
		cond, arg := inList(db.Read, "id", []int64{3, 1, 7})
		if got := selected("id", cond, arg); !slices.Equal(got, []int64{1, 3}) {
			t.Errorf("ids: got %v, want [1 3]", got)
		}
		cond, arg = inList(db.Read, "phone", []string{"+12015550102", "+19999999999"})
		if got := selected("phone", cond, arg); !slices.Equal(got, []int64{2}) {
			t.Errorf("phones: got %v, want [2]", got)
		}
		cond, arg = inList(db.Read, "phone_hash", [][]byte{{3, 0}, {2, 0}, {9, 9}})
		if got := selected("phone_hash", cond, arg); !slices.Equal(got, []int64{2, 3}) {
			t.Errorf("hashes: got %v, want [2 3]", got)
		}
	})
}
