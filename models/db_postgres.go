package models

import (
	"context"
	"fmt"
	"log/slog"
	"time"

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
}

// OpenPostgres opens the PostgreSQL database at url (postgres://…) through
// pgx, applies the pending migrations under the migration lock, and returns
// the pool. PostgreSQL has no single-writer rule, so unlike SQLite's DB there
// is one pool for reads and writes.
//
// Nothing user-visible opens it yet: --database-url is wired once the
// models' SQLite-specific statements are ported (models/POSTGRES.md).
func OpenPostgres(ctx context.Context, url string, pool PostgresPool, log *slog.Logger) (*gorm.DB, error) {
	g, err := gorm.Open(postgres.Open(url), &gorm.Config{
		TranslateError: true,
		Logger:         gormLog{log: log.With("component", "gorm")}, // db_log.go: failures only, no values
		NowFunc:        func() time.Time { return time.Now().UTC() },
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
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	if err := migrateDialect(ctx, db, dialectPostgres, log); err != nil {
		db.Close()
		return nil, err
	}
	return g, nil
}
