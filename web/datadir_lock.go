package web

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The data directory's lock: DATA-DIR/roster.lock, held for the life of a
// process that serves the directory's database (the server) or rewrites it
// wholesale (seed, copy). Two servers on one directory would each run a
// checkpointer, a pruner and a fan-out over one file, and a copy taken
// while the server writes would miss what it wrote; the second process
// refuses to start instead, naming the first. roster admin and roster
// backup do not take it: they are ordinary SQLite clients, safe beside a
// running server.
//
// flock(2) is held by the open file description, not the process: it is
// released when the process ends in any way (kill -9 included), so a stale
// file never keeps a restart out, and closing other descriptors does not
// drop it.

// lockFileName is the lock's file in the data directory.
const lockFileName = "roster.lock"

// dataDirLock is a held lock (nil: none held).
type dataDirLock struct{ f *os.File }

// lockDataDir takes the data directory's lock for holder ("server",
// "seed", "copy") or says which process holds it.
func lockDataDir(dir, holder string) (*dataDirLock, error) {
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock the data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who, _ := os.ReadFile(path)
			return nil, fmt.Errorf("the data directory %s is in use by another Roster process (%s): stop it first "+
				"(roster admin and roster backup run beside a running server)", dir, describeHolder(who))
		}
		return nil, fmt.Errorf("lock the data directory %s: %w", dir, err)
	}
	// Who holds it, for the message of the process refused next.
	who := fmt.Sprintf("%s, pid %d, since %s\n", holder, os.Getpid(), time.Now().UTC().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(who), 0)
	}
	return &dataDirLock{f: f}, nil
}

// describeHolder turns the lock file's line into the refusal's words.
func describeHolder(line []byte) string {
	s := strings.TrimSpace(string(line))
	if s == "" || len(s) > 200 {
		return "it did not say which" // taken a moment ago, not yet written
	}
	return s
}

// release lets the lock go (the file stays: removing it could let two
// processes lock two different files of one name).
func (l *dataDirLock) release() error {
	if l == nil {
		return nil
	}
	return l.f.Close()
}
