package webtest

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"os"

	"roster/models"
	"roster/models/pgtest"
	"roster/web"
)

// SameDatabase starts the new server on e's data directory and database,
// as a restarted or second instance would: on SQLite both open the same
// file; on PostgreSQL the new server opens a pool of its own on e's
// database (New would otherwise give it a fresh, empty one).
func SameDatabase(e *Env) Option {
	return func(c *web.Config, o *web.Options) {
		c.DataDir = e.DataDir
		if !pgtest.Selected() {
			return
		}
		e.T.Helper()
		var name string
		if err := e.Server.DB().Read.Raw("SELECT current_database()").Scan(&name).Error; err != nil {
			e.T.Fatalf("name of the test's database: %v", err)
		}
		u, err := url.Parse(os.Getenv("ROSTER_TEST_DATABASE_URL"))
		if err != nil {
			e.T.Fatalf("ROSTER_TEST_DATABASE_URL: %v", err)
		}
		u.Path = "/" + name
		db, err := models.OpenPostgres(context.Background(), u.String(), models.PostgresPool{MaxOpen: 8, MaxIdle: 8},
			slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			e.T.Fatalf("open the test's PostgreSQL database again: %v", err)
		}
		o.Database = db // the new server closes it
	}
}
