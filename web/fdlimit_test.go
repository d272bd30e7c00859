package web_test

import (
	"database/sql"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"roster/web/webtest"
)

const descriptorWarning = "--max-connections is more than the file-descriptor limit allows"

// A --max-connections that the file-descriptor limit cannot serve, with the
// database's connections, is warned about at start; the default is not.
func TestMaxConnectionsOverDescriptorLimitWarns(t *testing.T) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<30 {
		t.Skipf("no usable descriptor limit: %v %d", err, rl.Cur)
	}
	e := webtest.New(t, webtest.WithArgs("--max-connections", strconv.FormatUint(rl.Cur, 10)))
	if !strings.Contains(e.Logs(), descriptorWarning) || !strings.Contains(e.Logs(), "limit="+strconv.FormatUint(rl.Cur, 10)) {
		t.Errorf("no warning for --max-connections %d at a limit of %d:\n%s", rl.Cur, rl.Cur, e.Logs())
	}
	if e := webtest.New(t); strings.Contains(e.Logs(), descriptorWarning) {
		t.Error("the default --max-connections was warned about")
	}
}

// With no file descriptor left, readiness says so instead of reporting the
// database unavailable, and is ready again once descriptors are free.
// (Not parallel: it lowers the whole test process's limit for a moment.)
func TestOutOfDescriptorsReportedAsSuch(t *testing.T) {
	e := webtest.New(t)
	ready := func() *webtest.Response { return e.Do(httptest.NewRequest(http.MethodGet, "/readyz", nil)) }
	if r := ready(); r.Status != http.StatusOK {
		t.Fatalf("not ready at start: %d %s", r.Status, r.Body)
	}
	// The next database check must open a connection.
	for _, g := range []interface{ SetMaxIdleConns(int) }{mustPool(t, e, false), mustPool(t, e, true)} {
		g.SetMaxIdleConns(0)
	}
	// /readyz answers its status alone; the reason it gives the
	// dashboard's health panel is Ready's error.
	var r *webtest.Response
	var reason error
	withoutDescriptors(t, func() { r, reason = ready(), e.Server.Ready(t.Context()) })
	if r.Status != http.StatusServiceUnavailable || reason == nil || !strings.Contains(reason.Error(), "too many open files") {
		t.Errorf("/readyz without descriptors: %d %s, because %v", r.Status, r.Body, reason)
	}
	if r := ready(); r.Status != http.StatusOK {
		t.Errorf("/readyz with descriptors again: %d %s", r.Status, r.Body)
	}
}

// mustPool is the server's write or read pool of database/sql.
func mustPool(t *testing.T, e *webtest.Env, read bool) *sql.DB {
	t.Helper()
	g := e.Server.DB().Write
	if read {
		g = e.Server.DB().Read
	}
	pool, err := g.DB()
	if err != nil {
		t.Fatal(err)
	}
	return pool
}

// Out of descriptors, the database file check does not find the database
// lost: the op endpoint keeps answering once descriptors are free.
func TestOutOfDescriptorsIsNotALostDatabase(t *testing.T) {
	webtest.SQLiteOnly(t, "the check of the database file")
	e := webtest.New(t)
	tok := e.SignIn(webtest.USPhone, "a")
	withoutDescriptors(t, e.Server.CheckDatabase)
	e.SetNotify(tok).ExpectOK(t)
	if strings.Contains(e.Logs(), "the database file is lost") {
		t.Error("descriptor exhaustion was logged as a lost database")
	}
}

// withoutDescriptors runs fn with no file descriptor left to open: the test
// process's limit lowered to what is open, and what is left taken.
func withoutDescriptors(t *testing.T, fn func()) {
	t.Helper()
	var saved syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &saved); err != nil {
		t.Fatal(err)
	}
	open, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count open descriptors: %v", err)
	}
	low := saved
	low.Cur = uint64(len(open)) + 16
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Skipf("cannot lower the descriptor limit: %v", err)
	}
	var held []*os.File
	for {
		f, err := os.Open(os.DevNull)
		if err != nil {
			break
		}
		held = append(held, f)
	}
	fn()
	for _, f := range held {
		f.Close()
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &saved); err != nil {
		t.Fatal(err)
	}
}
