// Package pgtest gives tests a PostgreSQL database of their own on the
// server named by ROSTER_TEST_DATABASE_URL (.ci/postgres starts one).
package pgtest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Selected reports whether the whole suite is asked to run on PostgreSQL
// (ROSTER_TEST_DATABASE=postgres): webtest then starts every server on a
// fresh PostgreSQL database instead of a SQLite file.
func Selected() bool { return os.Getenv("ROSTER_TEST_DATABASE") == "postgres" }

// Fresh returns the URL of a new, empty database on the server of
// ROSTER_TEST_DATABASE_URL, dropped when the test ends: each test has a
// database of its own, so tests run in parallel and never see each other's
// rows. Without the variable the test is skipped, except in CI (CI=true)
// or when the suite was asked to run on PostgreSQL, where its absence is a
// failure.
func Fresh(t testing.TB) string {
	t.Helper()
	base := os.Getenv("ROSTER_TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("CI") == "true" || Selected() {
			t.Fatal("PostgreSQL was asked for but ROSTER_TEST_DATABASE_URL is not set: start PostgreSQL with .ci/postgres")
		}
		t.Skip("PostgreSQL tests need ROSTER_TEST_DATABASE_URL (pg_env=$(bash .ci/postgres) && eval \"$pg_env\" starts a server)")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("ROSTER_TEST_DATABASE_URL: %v", err)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	name := "roster_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create a database for the test: %v", err)
	}
	t.Cleanup(func() {
		// FORCE ends the test's leftover connections; a background worker
		// of the server's own in that database can refuse it for a moment.
		var err error
		for try := 0; try < 5; try++ {
			if _, err = admin.Exec("DROP DATABASE " + name + " WITH (FORCE)"); err == nil {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Errorf("drop the test's database: %v", err)
	})
	u.Path = "/" + name
	return u.String()
}
