package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"roster/web"
	"roster/web/webtest"
)

// start runs web.New on dir as the binary would, returning the error.
func start(t *testing.T, dir string, args ...string) (*web.Server, error) {
	t.Helper()
	return startWith(t, dir, nil, args...)
}

// startWith is start whose options are changed by opt first (nil: none),
// such as webtest.SameDatabase for a server on an earlier one's database.
func startWith(t *testing.T, dir string, opt webtest.Option, args ...string) (*web.Server, error) {
	t.Helper()
	cfg, err := web.ParseConfig("roster", append([]string{"--data-dir", dir}, args...), func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	opts := web.Options{Getenv: func(string) string { return "" }, BcryptCost: 4}
	if opt != nil {
		opt(&cfg, &opts)
	}
	srv, err := web.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), opts)
	if err == nil {
		t.Cleanup(func() { srv.Close() })
	}
	return srv, err
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// An existing, world-readable data directory: the database and its WAL
// files are the owner's alone, and so is the directory.
func TestDataFileModes(t *testing.T) {
	webtest.SQLiteOnly(t, "the modes of the database file and its WAL")
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	e := webtest.New(t, func(c *web.Config, _ *web.Options) { c.DataDir = dir })
	e.SignIn(webtest.USPhone, "d")
	for _, p := range []string{"roster.db", "roster.db-wal", "roster.db-shm", "secrets/otp.key"} {
		if m := mode(t, filepath.Join(dir, p)); m != 0o600 {
			t.Errorf("%s has mode %o, want 600", p, m)
		}
	}
	for _, p := range []string{"", "secrets", "files"} {
		if m := mode(t, filepath.Join(dir, p)); m != 0o700 {
			t.Errorf("directory %q has mode %o, want 700", p, m)
		}
	}
}

// A lost roster.db beside its secrets stops the start; --new-database
// creates an empty one on purpose.
func TestMissingDatabaseStopsTheStart(t *testing.T) {
	dir := t.TempDir()
	srv, err := start(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	for _, f := range []string{"roster.db", "roster.db-wal", "roster.db-shm"} {
		os.Remove(filepath.Join(dir, f))
	}
	_, err = start(t, dir)
	if err == nil || !strings.Contains(err.Error(), "roster.db") || !strings.Contains(err.Error(), "--new-database") {
		t.Fatalf("started on a missing database: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "roster.db")); err == nil {
		t.Error("the refused start created a database")
	}
	if _, err := start(t, dir, "--new-database"); err != nil {
		t.Errorf("--new-database: %v", err)
	}
}

// A lost generated secret over data that needs it stops the start with
// what was lost and how to restore it, instead of a new key that would
// silently unmatch every stored address book.
func TestMissingSecretStopsTheStart(t *testing.T) {
	for _, c := range []struct{ file, want string }{
		{"contacts.key", "address books"},
		{"otp.key", "users"},
		{"cookie-auth.key", "dashboard sessions"},
	} {
		t.Run(c.file, func(t *testing.T) {
			e := webtest.New(t)
			e.SignIn(webtest.USPhone, "d")
			e.AdminLogin("alice", "owner")
			dir := e.DataDir
			sameDatabase := webtest.SameDatabase(e)
			e.Server.Close()
			key := filepath.Join(dir, "secrets", c.file)
			saved, err := os.ReadFile(key)
			if err != nil {
				t.Fatal(err)
			}
			os.Remove(key)
			_, err = startWith(t, dir, sameDatabase)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "Restore") {
				t.Fatalf("started without %s: %v", c.file, err)
			}
			if _, err := os.Stat(key); err == nil {
				t.Errorf("%s was generated anew", c.file)
			}
			os.WriteFile(key, saved, 0o600)
			if _, err := startWith(t, dir, sameDatabase); err != nil {
				t.Errorf("with the key restored: %v", err)
			}
		})
	}
}

// Readiness fails when the database file is deleted or replaced under the
// running server, and reads do not create a new, empty file.
func TestReadinessNoticesALostDatabase(t *testing.T) {
	webtest.SQLiteOnly(t, "a database file deleted under the server")
	for _, replace := range []bool{false, true} {
		e := webtest.New(t)
		ready := func() *webtest.Response { return e.Do(httptest.NewRequest(http.MethodGet, "/readyz", nil)) }
		if r := ready(); r.Status != http.StatusOK {
			t.Fatalf("not ready at start: %d %s", r.Status, r.Body)
		}
		db := filepath.Join(e.DataDir, "roster.db")
		for _, f := range []string{db, db + "-wal", db + "-shm"} {
			os.Remove(f)
		}
		if replace {
			os.WriteFile(db, nil, 0o600)
		}
		r := ready()
		if r.Status != http.StatusServiceUnavailable || string(r.Body) != "not ready" {
			t.Errorf("replace=%v: /readyz %d %s", replace, r.Status, r.Body)
		}
		if !replace {
			e.Count("SELECT COUNT(*) FROM users")
			if _, err := os.Stat(db); err == nil {
				t.Error("a read created a new database file")
			}
		}
	}
}

// Once the database file is found lost, the op endpoint stops
// acknowledging requests: a sign-in written into the deleted file would be
// gone after the restart.
func TestLostDatabaseStopsAcknowledging(t *testing.T) {
	webtest.SQLiteOnly(t, "a database file deleted under the server")
	e := webtest.New(t)
	tok := e.SignIn(webtest.USPhone, "d")
	db := filepath.Join(e.DataDir, "roster.db")
	for _, f := range []string{db, db + "-wal", db + "-shm"} {
		os.Remove(f)
	}
	e.Server.CheckDatabase()
	e.JSON(webtest.LoginParams(webtest.FRPhone)).ExpectFail(t, "INTERNAL")
	e.JSON(map[string]any{"op": "setnotify", "token": tok, "notifytoken": "x"}).ExpectFail(t, "INTERNAL")
	if !strings.Contains(e.Logs(), "the database file is lost") {
		t.Error("the loss was not logged")
	}
}

// A write committed into a database file deleted since it was opened is
// not acknowledged, even before the watcher's next look: it would be gone
// after the restart. The dashboard then says what was lost.
func TestWriteIntoALostDatabaseIsNotAcknowledged(t *testing.T) {
	webtest.SQLiteOnly(t, "a database file deleted under the server")
	e := webtest.New(t)
	tok := e.SignIn(webtest.USPhone, "d")
	admin := e.AdminLogin("olga", "owner")
	db := filepath.Join(e.DataDir, "roster.db")
	for _, f := range []string{db, db + "-wal", db + "-shm"} {
		os.Remove(f)
	}
	// No CheckDatabase: the commit itself notices.
	e.JSON(webtest.LoginParams(webtest.FRPhone)).ExpectFail(t, "INTERNAL")
	e.JSON(map[string]any{"op": "logout", "token": tok}).ExpectFail(t, "INTERNAL")
	e.Server.CheckDatabase()
	r := admin.Get("/admin/users")
	if r.Status != http.StatusServiceUnavailable || !strings.Contains(string(r.Body), "The database file is lost") {
		t.Errorf("dashboard with a lost database: %d %s", r.Status, r.Body)
	}
}
