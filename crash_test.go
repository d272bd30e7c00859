package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

// The built binary under mixed writes, with every command that may run
// beside a live server run against it, then killed with SIGKILL and
// started again: every write it acknowledged is there, and SQLite's
// integrity check passes on the database and on the backup taken live.
func TestCrashLosesNoAcknowledgedWrite(t *testing.T) {
	if os.Getenv("ROSTER_TEST_DATABASE") == "postgres" {
		t.Skip("a crash of a SQLite deployment (PostgreSQL keeps its own files)")
	}
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "roster")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := filepath.Join(t.TempDir(), "data")
	srv := startBinary(t, bin, dir)

	load := newWriteLoad(srv.base)
	ctx, stopLoad := context.WithCancel(context.Background())
	var writers sync.WaitGroup
	for w := range 6 {
		writers.Go(func() { load.run(ctx, w) })
	}
	// Past the database watcher's first look (every 2 s), which is when
	// an open-and-close of roster.db used to drop the server's locks.
	time.Sleep(2500 * time.Millisecond)

	backup := filepath.Join(t.TempDir(), "backup.db")
	for _, c := range []struct {
		args  []string
		stdin string
	}{
		{[]string{"admin", "create", "--name", "crashtest", "--role", "viewer"}, "a long enough password\n"},
		{[]string{"admin", "reset-password", "--name", "crashtest"}, ""},
		{[]string{"admin", "revoke-sessions", "--name", "crashtest"}, ""},
		{[]string{"backup", "--out", backup}, ""},
	} {
		cmd := exec.Command(bin, append(c.args, "--data-dir", dir)...)
		cmd.Stdin = strings.NewReader(c.stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("roster %s beside the running server: %v\n%s", strings.Join(c.args, " "), err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A second server on the directory refuses and names the first.
	stopSecond, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	second := exec.CommandContext(stopSecond, bin, "--addr", "127.0.0.1:0", "--data-dir", dir)
	if out, err := second.CombinedOutput(); err == nil || !bytes.Contains(out, fmt.Appendf(nil, "pid %d", srv.cmd.Process.Pid)) {
		t.Errorf("a second server on the data directory: %v\n%s", err, out)
	}
	time.Sleep(time.Second)

	load.killed.Store(true) // from here on, failures are the kill's
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = srv.cmd.Wait()
	stopLoad()
	writers.Wait()
	if load.failed.Load() > 0 {
		t.Errorf("%d writes failed while the server ran (want none before the kill)", load.failed.Load())
	}
	if load.acked.Load() < 50 {
		t.Fatalf("only %d writes acknowledged: the load did not run", load.acked.Load())
	}

	srv = startBinary(t, bin, dir)
	missing := load.verify(t, srv.base)
	if missing > 0 {
		t.Errorf("%d of %d acknowledged writes are missing after the restart", missing, load.acked.Load())
	}
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := srv.cmd.Wait(); err != nil {
		t.Errorf("server stopped with %v", err)
	}
	for _, db := range []string{filepath.Join(dir, "roster.db"), backup} {
		if got := integrityCheck(t, db); got != "ok" {
			t.Errorf("integrity check of %s: %s", db, got)
		}
	}
	t.Logf("%d writes acknowledged before the kill, all present", load.acked.Load())
}

type binaryServer struct {
	cmd  *exec.Cmd
	base string
}

// startBinary starts the binary on a free loopback port and waits until
// /readyz answers.
func startBinary(t *testing.T, bin, dir string) binaryServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "--addr", addr, "--data-dir", dir, "--demo-code", "12345678",
		"--otp-ip-hourly", "0", "--otp-ip-daily", "0", "--log-level", "error")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	base := "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if r, err := http.Get(base + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return binaryServer{cmd: cmd, base: base}
			}
		}
	}
	t.Fatalf("the server did not become ready:\n%s", logs.String())
	return binaryServer{}
}

// writeLoad signs numbers in and changes their names, remembering what the
// server acknowledged: the sign-ins (a user and a session each) and the
// last acknowledged name of each user.
type writeLoad struct {
	base   string
	client *http.Client
	acked  atomic.Int64
	failed atomic.Int64 // before the kill
	killed atomic.Bool

	mu    sync.Mutex
	names map[string]int // token -> the last name number acknowledged
}

func newWriteLoad(base string) *writeLoad {
	return &writeLoad{base: base, client: &http.Client{Timeout: 10 * time.Second}, names: map[string]int{}}
}

// run alternates sign-ins of new numbers and name changes until ctx ends.
func (l *writeLoad) run(ctx context.Context, w int) {
	for n := 0; n < 1000 && ctx.Err() == nil; n++ {
		phone := fmt.Sprintf("1201555%04d", w*1000+n)
		if _, ok := l.call(ctx, url.Values{"op": {"login"}, "appid": {"crash.test"}, "phone": {phone}}); !ok {
			continue
		}
		reply, ok := l.call(ctx, url.Values{"op": {"login"}, "appid": {"crash.test"}, "phone": {phone}, "otp": {"12345678"}, "device": {"d"}})
		if !ok {
			continue
		}
		token, _ := reply["token"].(string)
		l.record(token, 0)
		for i := 1; i <= 5 && ctx.Err() == nil; i++ {
			if _, ok := l.call(ctx, url.Values{"op": {"profile"}, "token": {token}, "name": {fmt.Sprintf("name %d", i)}}); ok {
				l.record(token, i)
			}
		}
	}
}

func (l *writeLoad) record(token string, name int) {
	l.mu.Lock()
	l.names[token] = name
	l.mu.Unlock()
	l.acked.Add(1)
}

// call posts one op; ok means the server answered OK. A failure before
// the kill is counted.
func (l *writeLoad) call(ctx context.Context, params url.Values) (map[string]any, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.base+"/api.php", strings.NewReader(params.Encode()))
	if err != nil {
		return nil, false
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := l.client.Do(req)
	if err != nil {
		if !l.killed.Load() {
			l.failed.Add(1)
		}
		return nil, false
	}
	defer res.Body.Close()
	var reply map[string]any
	if err := json.NewDecoder(res.Body).Decode(&reply); err != nil || reply["result"] != "OK" {
		if !l.killed.Load() {
			l.failed.Add(1)
		}
		return nil, false
	}
	return reply, true
}

// verify asks the restarted server for every acknowledged session's
// profile and counts what is missing: a session no longer known, or a name
// older than the last one acknowledged (a later, unacknowledged one may
// have been stored before the kill).
func (l *writeLoad) verify(t *testing.T, base string) (missing int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	client := &http.Client{Timeout: 10 * time.Second}
	for token, want := range l.names {
		res, err := client.PostForm(base+"/api.php", url.Values{"op": {"profile"}, "token": {token}})
		if err != nil {
			t.Fatal(err)
		}
		var reply map[string]any
		err = json.NewDecoder(res.Body).Decode(&reply)
		res.Body.Close()
		if err != nil || reply["result"] != "OK" {
			t.Logf("an acknowledged session is unknown after the restart: %v", reply)
			missing++
			continue
		}
		got := 0
		if name, _ := reply["name"].(string); name != "" {
			fmt.Sscanf(name, "name %d", &got)
		}
		if got < want {
			t.Logf("name %d acknowledged, name %d stored", want, got)
			missing++
		}
	}
	return missing
}

// integrityCheck runs SQLite's integrity check on the file.
func integrityCheck(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var got string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&got); err != nil {
		return err.Error()
	}
	return got
}
