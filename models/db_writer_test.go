package models

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
)

// Write transactions that wait together for SQLite's writer share one
// commit, yet each keeps the outcome it would have alone: a failing one, or
// one that panics, is undone without touching the others, and one whose
// caller gave up while it waited never runs. (PostgreSQL has no writer to
// wait for: db_writer_postgres_test.go.)
func TestWritesThatWaitTogetherKeepTheirOwnOutcome(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	insert := func(tx *gorm.DB, phone string) error {
		return tx.Exec("INSERT INTO phone_guards (phone, failures, updated_at) VALUES (?, 0, 0)", phone).Error
	}
	// A first transaction holds the writer while the others queue behind it.
	release := make(chan struct{})
	running := make(chan struct{})
	go db.WriteTx(ctx, func(tx *gorm.DB) error {
		close(running)
		<-release
		return insert(tx, "+first")
	})
	<-running

	errBoom := errors.New("boom")
	fns := map[string]func(tx *gorm.DB) error{
		"+ok1":    func(tx *gorm.DB) error { return insert(tx, "+ok1") },
		"+failed": func(tx *gorm.DB) error { _ = insert(tx, "+failed"); return errBoom },
		"+ok2":    func(tx *gorm.DB) error { return insert(tx, "+ok2") },
		"+panic":  func(tx *gorm.DB) error { _ = insert(tx, "+panic"); panic("bug") },
		"+dup":    func(tx *gorm.DB) error { return insert(tx, "+ok1") }, // a constraint error after +ok1
		"+ok3":    func(tx *gorm.DB) error { return insert(tx, "+ok3") },
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
		abandoned <- db.WriteTx(gaveUp, func(tx *gorm.DB) error { return insert(tx, "+abandoned") })
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
	if err := db.WriteTx(ctx, func(tx *gorm.DB) error { return insert(tx, "+after") }); err != nil {
		t.Errorf("write after the batch: %v", err)
	}
}

// After Close, a write is refused instead of waiting for a writer that is gone.
func TestWriteAfterClose(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, db *DB) {
		db.Close()
		if err := db.WriteTx(context.Background(), func(tx *gorm.DB) error { return nil }); !errors.Is(err, errClosed) {
			t.Errorf("write after close: %v", err)
		}
	})
}
