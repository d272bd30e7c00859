package models

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// Write transactions that wait together for SQLite's writer share one
// commit, yet each keeps the outcome it would have alone: a failing one, or
// one that panics, is undone without touching the others, and one whose
// caller gave up while it waited never runs. (PostgreSQL has no writer to
// wait for: db_writer_postgres_test.go.)
func TestWritesThatWaitTogetherKeepTheirOwnOutcome(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	insert := func(tx *Tx, phone string) error {
		return tx.Exec("INSERT INTO phone_guards (phone, failures, updated_at) VALUES (?, 0, 0)", phone).Error
	}
	// A first transaction holds the writer while the others queue behind it.
	release := make(chan struct{})
	running := make(chan struct{})
	go db.WriteTx(ctx, func(tx *Tx) error {
		close(running)
		<-release
		return insert(tx, "+first")
	})
	<-running

	errBoom := errors.New("boom")
	fns := map[string]func(tx *Tx) error{
		"+ok1":    func(tx *Tx) error { return insert(tx, "+ok1") },
		"+failed": func(tx *Tx) error { _ = insert(tx, "+failed"); return errBoom },
		"+ok2":    func(tx *Tx) error { return insert(tx, "+ok2") },
		"+panic":  func(tx *Tx) error { _ = insert(tx, "+panic"); panic("bug") },
		"+dup":    func(tx *Tx) error { return insert(tx, "+ok1") }, // a constraint error after +ok1
		"+ok3":    func(tx *Tx) error { return insert(tx, "+ok3") },
	}
	order := []string{"+ok1", "+failed", "+ok2", "+panic", "+dup", "+ok3"}
	errs := make(map[string]error)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, name := range order {
		wg.Go(func() {
			err := db.WriteTx(ctx, fns[name])
			mu.Lock()
			errs[name] = err
			mu.Unlock()
		})
		time.Sleep(20 * time.Millisecond) // queue them in this order (the order is not what is tested)
	}
	// One more caller gives up while it waits: its transaction must never run.
	gaveUp, cancel := context.WithCancel(ctx)
	abandoned := make(chan error)
	go func() {
		abandoned <- db.WriteTx(gaveUp, func(tx *Tx) error { return insert(tx, "+abandoned") })
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-abandoned; !errors.Is(err, context.Canceled) {
		t.Errorf("abandoned write: %v", err)
	}
	close(release)
	wg.Wait()

	for name, want := range map[string]error{"+ok1": nil, "+ok2": nil, "+ok3": nil, "+failed": errBoom} {
		if !errors.Is(errs[name], want) {
			t.Errorf("%s: %v, want %v", name, errs[name], want)
		}
	}
	if errs["+panic"] == nil || errs["+dup"] == nil {
		t.Errorf("panic: %v, duplicate: %v (want errors)", errs["+panic"], errs["+dup"])
	}
	var stored []string
	if err := db.Read.Raw("SELECT phone FROM phone_guards ORDER BY phone").Scan(&stored).Error; err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(stored); got != "[+first +ok1 +ok2 +ok3]" {
		t.Errorf("stored %s, want the successful writes only", got)
	}
	// The writer still serves.
	if err := db.WriteTx(ctx, func(tx *Tx) error { return insert(tx, "+after") }); err != nil {
		t.Errorf("write after the batch: %v", err)
	}
}

// After Close, a write is refused instead of waiting for a writer that is gone.
func TestWriteAfterClose(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, db *DB) {
		db.Close()
		if err := db.WriteTx(context.Background(), func(tx *Tx) error { return nil }); !errors.Is(err, errClosed) {
			t.Errorf("write after close: %v", err)
		}
	})
}

// OnCommit hooks run once, after the shared commit, and only for the jobs
// whose savepoint was released: never for a job rolled back inside the
// batch, and never when the commit itself is not acknowledged (the
// database file deleted under the server). WriteTx[T] answers fn's result.
func TestOnCommitFollowsOnlyStoredWrites(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	var mu sync.Mutex
	ran := make(map[string]int)
	hook := func(name string) func() {
		return func() { mu.Lock(); ran[name]++; mu.Unlock() }
	}
	write := func(tx *Tx, phone string) (string, error) {
		tx.OnCommit(hook(phone))
		return phone, tx.Exec("INSERT INTO phone_guards (phone, failures, updated_at) VALUES (?, 0, 0)", phone).Error
	}
	errBoom := errors.New("boom")

	// Alone: committed, or rolled back.
	if got, err := WriteTx(ctx, db, func(tx *Tx) (string, error) { return write(tx, "+alone") }); err != nil || got != "+alone" {
		t.Fatalf("alone: %q, %v", got, err)
	}
	if _, err := WriteTx(ctx, db, func(tx *Tx) (string, error) { _, _ = write(tx, "+alone-failed"); return "", errBoom }); !errors.Is(err, errBoom) {
		t.Fatalf("alone, failed: %v", err)
	}

	// Together: a first job holds the writer while the others queue behind
	// it, so that they share one commit.
	release := make(chan struct{})
	running := make(chan struct{})
	first := make(chan error)
	go func() {
		first <- db.WriteTx(ctx, func(tx *Tx) error {
			close(running)
			<-release
			_, err := write(tx, "+first")
			return err
		})
	}()
	<-running
	fns := map[string]func(tx *Tx) (string, error){
		"+ok":     func(tx *Tx) (string, error) { return write(tx, "+ok") },
		"+failed": func(tx *Tx) (string, error) { _, _ = write(tx, "+failed"); return "", errBoom },
		"+dup":    func(tx *Tx) (string, error) { tx.OnCommit(hook("+dup")); return write(tx, "+ok") },
		"+panic":  func(tx *Tx) (string, error) { _, _ = write(tx, "+panic"); panic("bug") },
	}
	results := make(map[string]string)
	var wg sync.WaitGroup
	for name, fn := range fns {
		wg.Go(func() {
			got, err := WriteTx(ctx, db, fn)
			mu.Lock()
			results[name] = fmt.Sprint(got, " ", err != nil)
			mu.Unlock()
		})
	}
	time.Sleep(100 * time.Millisecond) // let them queue behind the first (the outcomes hold either way)
	close(release)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	// +ok and +dup insert the same key: whichever ran second failed.
	if (results["+ok"] == "+ok false") == (results["+dup"] == "+ok false") || results["+failed"] != " true" || results["+panic"] != " true" {
		t.Errorf("results %v", results)
	}
	mu.Lock()
	got := fmt.Sprint(ran)
	mu.Unlock()
	if got != "map[+alone:1 +first:1 +ok:1]" && got != "map[+alone:1 +dup:1 +first:1 +ok:1]" {
		t.Errorf("hooks ran %s, want once for each stored write only", got)
	}
	if (results["+dup"] == "+ok false") != (ran["+dup"] == 1) {
		t.Errorf("+dup answered %q, its hook ran %d times", results["+dup"], ran["+dup"])
	}

	// A commit into a file deleted under the server is not acknowledged,
	// and its hooks do not run.
	if err := os.Remove(db.file.path); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteTx(ctx, db, func(tx *Tx) (string, error) { return write(tx, "+lost") }); !errors.Is(err, ErrDatabaseLost) {
		t.Errorf("write into a deleted file: %v", err)
	}
	if ran["+lost"] != 0 {
		t.Errorf("a hook ran after a commit that was not acknowledged")
	}
}
