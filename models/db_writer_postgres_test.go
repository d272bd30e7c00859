package models

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"roster/models/pgtest"
)

// openTestPostgres opens a fresh PostgreSQL database as Roster does.
func openTestPostgres(t *testing.T, pool PostgresPool) *DB {
	t.Helper()
	db, err := OpenPostgres(context.Background(), freshPostgres(t), pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// On PostgreSQL write transactions run side by side, each with its own
// outcome: a failing or panicking one is undone alone, a duplicate key is
// an error once the retries find it again, one whose caller gave up before
// it started never runs.
func TestPostgresWritesKeepTheirOwnOutcome(t *testing.T) {
	db := openTestPostgres(t, PostgresPool{MaxOpen: 4, MaxIdle: 4})
	ctx := context.Background()
	insert := func(tx *Tx, phone string) error {
		return tx.Exec("INSERT INTO phone_guards (phone, failures, updated_at) VALUES (?, 0, 0)", phone).Error
	}
	errBoom := errors.New("boom")
	fns := map[string]func(tx *Tx) error{
		"+ok1":    func(tx *Tx) error { return insert(tx, "+ok1") },
		"+failed": func(tx *Tx) error { _ = insert(tx, "+failed"); return errBoom },
		"+ok2":    func(tx *Tx) error { return insert(tx, "+ok2") },
		"+panic":  func(tx *Tx) error { _ = insert(tx, "+panic"); panic("bug") },
	}
	errs := make(map[string]error)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, fn := range fns {
		wg.Go(func() {
			err := db.WriteTx(ctx, fn)
			mu.Lock()
			errs[name] = err
			mu.Unlock()
		})
	}
	wg.Wait()
	if errs["+ok1"] != nil || errs["+ok2"] != nil || !errors.Is(errs["+failed"], errBoom) || errs["+panic"] == nil {
		t.Errorf("outcomes %v", errs)
	}
	if err := db.WriteTx(ctx, func(tx *Tx) error { return insert(tx, "+ok1") }); !errors.Is(err, gorm.ErrDuplicatedKey) {
		t.Errorf("duplicate key: %v", err)
	}
	gaveUp, cancel := context.WithCancel(ctx)
	cancel()
	if err := db.WriteTx(gaveUp, func(tx *Tx) error { return insert(tx, "+abandoned") }); !errors.Is(err, context.Canceled) {
		t.Errorf("abandoned write: %v", err)
	}
	var stored []string
	if err := db.Read.Raw("SELECT phone FROM phone_guards ORDER BY phone").Scan(&stored).Error; err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(stored); got != "[+ok1 +ok2]" {
		t.Errorf("stored %s, want the successful writes only", got)
	}
}

// Two transactions that lock two rows in opposite orders deadlock;
// PostgreSQL ends one, and WriteTx runs it again: both succeed. Two that
// look for a row, find none and insert it both succeed too: the one whose
// insert lost runs again and finds the other's row.
func TestPostgresWritesRetryLostRaces(t *testing.T) {
	db := openTestPostgres(t, PostgresPool{MaxOpen: 4, MaxIdle: 4})
	ctx := context.Background()
	for _, p := range []string{"+x", "+y"} {
		if err := db.Write.Exec("INSERT INTO phone_guards (phone, failures, updated_at) VALUES (?, 0, 0)", p).Error; err != nil {
			t.Fatal(err)
		}
	}
	var attempts atomic.Int32
	var firstLocks sync.WaitGroup
	firstLocks.Add(2)
	lockBoth := func(first, second string) func(tx *Tx) error {
		return func(tx *Tx) error {
			n := attempts.Add(1)
			lock := func(p string) error {
				return tx.Exec("UPDATE phone_guards SET failures = failures + 1 WHERE phone = ?", p).Error
			}
			if err := lock(first); err != nil {
				return err
			}
			if n <= 2 { // the first runs wait for each other's first lock
				firstLocks.Done()
				firstLocks.Wait()
			}
			return lock(second)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() { errs[0] = db.WriteTx(ctx, lockBoth("+x", "+y")) })
	wg.Go(func() { errs[1] = db.WriteTx(ctx, lockBoth("+y", "+x")) })
	wg.Wait()
	// At least one run again: on a loaded machine (the whole suite on 2
	// cores) a fourth attempt was seen, both writes still done once.
	if errs[0] != nil || errs[1] != nil || attempts.Load() < 3 {
		t.Errorf("deadlocked pair: %v, %d attempts (want both done, one run again)", errs, attempts.Load())
	}
	var failures []int
	if err := db.Read.Raw("SELECT failures FROM phone_guards ORDER BY phone").Scan(&failures).Error; err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(failures) != "[2 2]" {
		t.Errorf("counts %v after two transactions, want each row counted twice", failures)
	}

	var looked sync.WaitGroup
	looked.Add(2)
	var runs atomic.Int32
	found := make([]bool, 2)
	insertIfMissing := func(i int) func(tx *Tx) error {
		return func(tx *Tx) error {
			var n int64
			if err := tx.Raw("SELECT COUNT(*) FROM phone_guards WHERE phone = '+race'").Scan(&n).Error; err != nil {
				return err
			}
			if runs.Add(1) <= 2 {
				looked.Done()
				looked.Wait() // both have looked before either inserts
			}
			if found[i] = n > 0; found[i] {
				return nil
			}
			return tx.Exec("INSERT INTO phone_guards (phone, failures, updated_at) VALUES ('+race', 0, 0)").Error
		}
	}
	wg.Go(func() { errs[0] = db.WriteTx(ctx, insertIfMissing(0)) })
	wg.Go(func() { errs[1] = db.WriteTx(ctx, insertIfMissing(1)) })
	wg.Wait()
	if errs[0] != nil || errs[1] != nil || found[0] == found[1] {
		t.Errorf("insert race: %v, found %v (want both done, one finding the other's row)", errs, found)
	}
}

// A write that waits for a row another transaction holds gives up after
// the pool's lock timeout with an error IsBusy reports (the app's BUSY),
// instead of outliving its request.
func TestPostgresLockWaitIsBounded(t *testing.T) {
	db := openTestPostgres(t, PostgresPool{MaxOpen: 4, MaxIdle: 4, LockTimeout: 200 * time.Millisecond})
	ctx := context.Background()
	if err := db.Write.Exec("INSERT INTO phone_guards (phone, failures, updated_at) VALUES ('+held', 0, 0)").Error; err != nil {
		t.Fatal(err)
	}
	holder := db.Write.Begin()
	if err := holder.Exec("UPDATE phone_guards SET failures = 1 WHERE phone = '+held'").Error; err != nil {
		t.Fatal(err)
	}
	// The holder lets go after 3 s: a write that waited for it (no lock
	// timeout) would then succeed, and the test fail, rather than hang.
	var release sync.Once
	go func() { time.Sleep(3 * time.Second); release.Do(func() { holder.Rollback() }) }()
	err := db.WriteTx(ctx, func(tx *Tx) error {
		return tx.Exec("UPDATE phone_guards SET failures = 2 WHERE phone = '+held'").Error
	})
	release.Do(func() { holder.Rollback() })
	if !IsBusy(err) {
		t.Errorf("a write waiting for a held row: %v, want a busy error", err)
	}
}

// A write whose deadline passes while its COMMIT is on the way still learns
// that it was stored (the COMMIT has commitGrace past the deadline): a
// stored change is not reported as a failure.
func TestPostgresCommitUnderWayAtTheDeadline(t *testing.T) {
	proxy := pgtest.NewProxy(t, freshPostgres(t))
	db, err := OpenPostgres(context.Background(), proxy.URL(), PostgresPool{MaxOpen: 2, MaxIdle: 2}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	deadline, _ := ctx.Deadline()
	err = db.WriteTx(ctx, func(tx *Tx) error {
		if err := tx.Exec("INSERT INTO phone_guards (phone, failures, updated_at) VALUES ('+commit', 0, 0)").Error; err != nil {
			return err
		}
		// The COMMIT is held until after the deadline, well within the grace.
		proxy.Freeze()
		time.AfterFunc(time.Until(deadline)+commitGrace/4, proxy.Thaw)
		return nil
	})
	var n int64
	if qerr := db.Read.Raw("SELECT COUNT(*) FROM phone_guards WHERE phone = '+commit'").Scan(&n).Error; qerr != nil {
		t.Fatal(qerr)
	}
	if err != nil || n != 1 {
		t.Errorf("WriteTx: %v, rows stored: %d; want stored and told so", err, n)
	}
}

// A transaction that PostgreSQL runs again after a lost race answers the
// result of the run that committed, and only that run's OnCommit hooks
// run: two writers look for a row, both find none, and both insert it;
// the one whose insert lost runs again, finds the other's row, and says
// so.
func TestPostgresRerunAnswersTheCommittedRun(t *testing.T) {
	db := openTestPostgres(t, PostgresPool{MaxOpen: 4, MaxIdle: 4})
	ctx := context.Background()
	var looked sync.WaitGroup
	looked.Add(2)
	var runs, hooks atomic.Int32
	insertIfMissing := func(tx *Tx) (string, error) {
		tx.OnCommit(func() { hooks.Add(1) })
		var n int64
		if err := tx.Raw("SELECT COUNT(*) FROM phone_guards WHERE phone = '+race'").Scan(&n).Error; err != nil {
			return "", err
		}
		if runs.Add(1) <= 2 {
			looked.Done()
			looked.Wait() // both have looked before either inserts
		}
		if n > 0 {
			return "found", nil
		}
		return "inserted", tx.Exec("INSERT INTO phone_guards (phone, failures, updated_at) VALUES ('+race', 0, 0)").Error
	}
	var wg sync.WaitGroup
	got := make([]string, 2)
	errs := make([]error, 2)
	for i := range got {
		wg.Go(func() { got[i], errs[i] = WriteTx(ctx, db, insertIfMissing) })
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil || runs.Load() != 3 {
		t.Fatalf("insert race: %v, %d runs (want both done, one run again)", errs, runs.Load())
	}
	if fmt.Sprint(got) != "[found inserted]" && fmt.Sprint(got) != "[inserted found]" {
		t.Errorf("answers %v, want one inserted and the run again found", got)
	}
	if hooks.Load() != 2 {
		t.Errorf("%d hooks ran for two committed transactions (three runs)", hooks.Load())
	}
}
