package web_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"roster/web"
	"roster/web/webtest"
)

// A second server on a data directory that one already serves refuses to
// start, naming the first; once the first is closed, a new one starts.
func TestSecondServerOnOneDataDirRefuses(t *testing.T) {
	webtest.SQLiteOnly(t, "the data directory's lock guards its SQLite file")
	e := webtest.New(t)
	_, err := start(t, e.DataDir)
	want := fmt.Sprintf("in use by another Roster process (server, pid %d", os.Getpid())
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("a second server on one data directory: %v; want an error containing %q", err, want)
	}
	// roster copy would miss what the server writes meanwhile, and a seed
	// never mixes with a served directory: both are refused too.
	var out bytes.Buffer
	err = web.CopyCommand(context.Background(), []string{"--data-dir", e.DataDir, "--to", "postgres://nobody@127.0.0.1:1/x"}, noEnv, &out, discardLog())
	if err == nil || !strings.Contains(err.Error(), "in use by another Roster process") {
		t.Errorf("roster copy of a served directory: %v", err)
	}
	if err := e.Server.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := start(t, e.DataDir); err != nil {
		t.Errorf("a server after the first was closed: %v", err)
	}
}

// The commands that work on a deployment refuse a data directory without a
// database instead of creating a new, empty one (a mistyped --data-dir).
func TestCommandsRefuseADataDirWithoutDatabase(t *testing.T) {
	webtest.SQLiteOnly(t, "the data directory's SQLite file")
	missing := filepath.Join(t.TempDir(), "typo")
	empty := t.TempDir()
	for _, dir := range []string{missing, empty} {
		var out bytes.Buffer
		err := web.AdminCommand(context.Background(), []string{"create", "olga", "--role", "owner", "--data-dir", dir}, noEnv, strings.NewReader("a long enough password\n"), &out)
		if err == nil || !strings.Contains(err.Error(), "check --data-dir") {
			t.Errorf("admin create in %s: %v", dir, err)
		}
		err = web.BackupCommand(context.Background(), []string{"--data-dir", dir, "--out", filepath.Join(t.TempDir(), "b.db")}, noEnv, &out)
		if err == nil || !strings.Contains(err.Error(), "check --data-dir") {
			t.Errorf("backup of %s: %v", dir, err)
		}
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("the mistyped data directory was created: %v", err)
	}
	if entries, _ := os.ReadDir(empty); len(entries) > 0 {
		t.Errorf("files were created in the empty directory: %v", entries)
	}
}

// The database watcher and readiness look at roster.db without opening
// it: closing a descriptor of the file would drop every POSIX lock this
// process holds on it, and the next process to open the database (here
// roster admin, run as another process while the server serves) would take
// it for unused, checkpoint and delete the WAL under the server. Writes
// the server acknowledged after that would live only in a deleted file.
func TestDatabaseChecksKeepTheServersLocks(t *testing.T) {
	webtest.SQLiteOnly(t, "SQLite's file locks")
	if os.Getenv("ROSTER_TEST_CHILD") != "" {
		t.Skip("in the child process")
	}
	e := webtest.New(t)
	e.SignIn(webtest.USPhone, "before")
	wal := filepath.Join(e.DataDir, "roster.db-wal")
	before, err := os.Stat(wal)
	if err != nil {
		t.Fatalf("no WAL while the server runs: %v", err)
	}
	// What the watcher does every two seconds, and /readyz on each request.
	e.Server.CheckDatabase()
	if r := e.Do(httptest.NewRequest(http.MethodGet, "/readyz", nil)); r.Status != http.StatusOK {
		t.Fatalf("/readyz %d", r.Status)
	}
	runChild(t, "create", e.DataDir)
	after, err := os.Stat(wal)
	if err != nil || !os.SameFile(before, after) {
		t.Fatalf("the server's WAL was deleted or replaced by roster admin in another process (%v)", err)
	}
	// Written after the command, acknowledged, and seen by a new process.
	e.SignIn(webtest.FRPhone, "after")
	if got := runChild(t, "count", e.DataDir); got != "2" {
		t.Errorf("another process sees %s users, want the 2 the server acknowledged", got)
	}
}

// TestDatabaseChecksChild is the other process of
// TestDatabaseChecksKeepTheServersLocks (it runs only there).
func TestDatabaseChecksChild(t *testing.T) {
	dir := os.Getenv("ROSTER_TEST_CHILD_DIR")
	switch os.Getenv("ROSTER_TEST_CHILD") {
	case "create":
		var out bytes.Buffer
		if err := web.AdminCommand(context.Background(), []string{"create", "child", "--role", "viewer", "--data-dir", dir}, noEnv, strings.NewReader("a long enough password\n"), &out); err != nil {
			t.Fatal(err)
		}
	case "count":
		db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "roster.db")+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM users").Scan(&n); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("users=%d\n", n)
	default:
		t.Skip("the child process of TestDatabaseChecksKeepTheServersLocks")
	}
}

// runChild runs TestDatabaseChecksChild in a new process (the test binary)
// and returns what it printed after "users=", if anything.
func runChild(t *testing.T, what, dir string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDatabaseChecksChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "ROSTER_TEST_CHILD="+what, "ROSTER_TEST_CHILD_DIR="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child %s: %v\n%s", what, err, out)
	}
	_, n, _ := strings.Cut(string(out), "users=")
	n, _, _ = strings.Cut(n, "\n")
	return n
}
