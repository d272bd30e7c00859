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

// SameDatabase starts a server on e's data directory and database, as a
// restarted or second instance would: on SQLite, where one server serves a
// data directory at a time, e's server is closed first (a restart; closing
// is idempotent); on PostgreSQL the new server opens a pool of its own on
// e's database (New would otherwise give it a fresh, empty one) while e
// keeps running. Call it while e runs; the option may then be used after e
// is closed, and each use opens a pool.
func SameDatabase(e *Env) Option {
	e.T.Helper()
	dir := e.DataDir
	if !pgtest.Selected() {
		return func(c *web.Config, _ *web.Options) {
			if err := e.Server.Close(); err != nil {
				e.T.Errorf("close the server before its restart: %v", err)
			}
			c.DataDir = dir
		}
	}
	var name string
	if err := e.Server.DB().Read.Raw("SELECT current_database()").Scan(&name).Error; err != nil {
		e.T.Fatalf("name of the test's database: %v", err)
	}
	u, err := url.Parse(os.Getenv("ROSTER_TEST_DATABASE_URL"))
	if err != nil {
		e.T.Fatalf("ROSTER_TEST_DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	t := e.T
	return func(c *web.Config, o *web.Options) {
		c.DataDir = dir
		db, err := models.OpenPostgres(context.Background(), u.String(), models.PostgresPool{MaxOpen: 8, MaxIdle: 8},
			slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatalf("open the test's PostgreSQL database again: %v", err)
		}
		o.Database = db // the server closes it (web.New too, when it fails)
	}
}
