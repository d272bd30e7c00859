package models

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// dialect names a database engine that has a migrations folder of its own.
// Both folders hold the same versions expressing the same schema: a
// database records only versions, so version N means the same tables on
// either engine.
type dialect string

const (
	dialectSQLite   dialect = "sqlite"
	dialectPostgres dialect = "postgres"
)

// migrationLockKey is the PostgreSQL advisory lock that migrations are
// applied under ("Roster" in ASCII): ten instances starting at once apply
// each migration once, one after the other, instead of racing.
const migrationLockKey = 0x526f73746572

type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists the dialect's embedded files NNNN_name.sql in version
// order.
func (d dialect) migrations() ([]migration, error) {
	dir := path.Join("migrations", string(d))
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		base := strings.TrimSuffix(e.Name(), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration file %q is not named NNNN_name.sql", e.Name())
		}
		body, err := migrationFiles.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("two migrations have version %d", ms[i].version)
		}
	}
	return ms, nil
}

// migrate applies SQLite's pending migrations (Open's entry point).
func migrate(ctx context.Context, db *sql.DB, log *slog.Logger) error {
	return migrateDialect(ctx, db, dialectSQLite, log)
}

// migrateDialect applies, each in its own transaction, the dialect's
// migrations not yet recorded in schema_migrations. Migrations are
// append-only: a released file is never edited, a change is a new file. It
// runs on database/sql directly: a migration file holds many statements, and
// GORM's prepared-statement mode would run only the first.
//
// Several processes may run it at once on one PostgreSQL database: every
// transaction first takes migrationLockKey, and a migration is applied only
// if, holding the lock, it is still unrecorded.
func migrateDialect(ctx context.Context, db *sql.DB, d dialect, log *slog.Logger) error {
	ms, err := d.migrations()
	if err != nil {
		return err
	}
	err = d.inLockedTx(ctx, db, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY,
			name TEXT NOT NULL,
			applied_at BIGINT NOT NULL)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	done, err := appliedVersions(ctx, db)
	if err != nil {
		return err
	}
	latest := ms[len(ms)-1].version
	for v := range done {
		if v > latest {
			return fmt.Errorf("the database has schema version %d, newer than this binary knows (%d): run a newer Roster", v, latest)
		}
	}
	for _, m := range ms {
		if done[m.version] {
			continue
		}
		applied, err := d.applyMigration(ctx, db, m)
		if err != nil {
			return fmt.Errorf("migration %04d_%s: %w", m.version, m.name, err)
		}
		if applied {
			log.Info("applied migration", "version", m.version, "name", m.name)
		}
	}
	return nil
}

func appliedVersions(ctx context.Context, db *sql.DB) (map[int]bool, error) {
	rows, err := db.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	done := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		done[v] = true
	}
	return done, rows.Err()
}

// applyMigration runs m and records it, unless another process recorded it
// while this one waited for the lock. The statements use $N placeholders:
// PostgreSQL requires them, and SQLite numbers $N parameters in order of
// appearance, which is the same here.
func (d dialect) applyMigration(ctx context.Context, db *sql.DB, m migration) (applied bool, err error) {
	err = d.inLockedTx(ctx, db, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = $1", m.version).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return err
		}
		applied = true
		_, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
			m.version, m.name, time.Now().UnixMilli())
		return err
	})
	return applied && err == nil, err
}

// inLockedTx runs fn in a transaction that, on PostgreSQL, first takes the
// migration lock; it is released at commit or rollback. SQLite needs no
// lock: its write transactions already run one at a time.
func (d dialect) inLockedTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if d == dialectPostgres {
		// Migrations wait as long as they must, for another instance's
		// migrations and for running transactions (the pool's lock_timeout
		// is for requests).
		if _, err := tx.ExecContext(ctx, "SET LOCAL lock_timeout = 0"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLockKey)); err != nil {
			return fmt.Errorf("take the migration lock: %w", err)
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
