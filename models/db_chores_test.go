package models

import (
	"context"
	"io"
	"log/slog"
	"testing"
)

// A chore runs on one instance at a time: while one instance holds it,
// another sharing the database skips its round; once it is done, the next
// round runs. SQLite has one instance: the chore always runs.
func TestChoreOnOneInstance(t *testing.T) {
	ctx := context.Background()
	if ran, err := openTestDB(t).OnOneInstance(ctx, ChorePrune, func() error { return nil }); !ran || err != nil {
		t.Errorf("SQLite: ran %v, %v", ran, err)
	}
	url := freshPostgres(t)
	open := func() *DB {
		db, err := OpenPostgres(ctx, url, PostgresPool{MaxOpen: 4, MaxIdle: 4}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a, b := open(), open()
	var inner bool
	ran, err := a.OnOneInstance(ctx, ChorePrune, func() error {
		var err error
		inner, err = b.OnOneInstance(ctx, ChorePrune, func() error { return nil })
		return err
	})
	if !ran || err != nil || inner {
		t.Errorf("a ran %v (%v); b ran %v while a held the chore", ran, err, inner)
	}
	if ran, err := b.OnOneInstance(ctx, ChorePrune, func() error { return nil }); !ran || err != nil {
		t.Errorf("b after a: ran %v, %v", ran, err)
	}
}

// Releasing the cache's memory works on both databases and leaves the
// writer usable.
func TestReleaseMemory(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	var n int
	if err := db.Read.Raw("SELECT count(*) FROM users").Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	rsql, err := db.Read.DB()
	if err != nil {
		t.Fatal(err)
	}
	if idle := rsql.Stats().Idle; idle == 0 {
		t.Fatal("no idle reader before the release")
	}
	if err := db.ReleaseMemory(ctx); err != nil {
		t.Fatalf("SQLite: %v", err)
	}
	if idle := rsql.Stats().Idle; idle != 0 {
		t.Errorf("%d idle readers kept their caches after the release", idle)
	}
	// The pool keeps readers again afterwards.
	if err := db.Read.Raw("SELECT count(*) FROM users").Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	if idle := rsql.Stats().Idle; idle != 1 {
		t.Errorf("%d idle readers after a read following the release, want 1", idle)
	}
	if err := db.WriteTx(ctx, func(tx *Tx) error { return tx.Exec("CREATE TABLE after_release (x INTEGER)").Error }); err != nil {
		t.Errorf("a write after the release: %v", err)
	}
	pg, err := OpenPostgres(ctx, freshPostgres(t), PostgresPool{MaxOpen: 2, MaxIdle: 2}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	if err := pg.ReleaseMemory(ctx); err != nil {
		t.Errorf("PostgreSQL: %v", err)
	}
}
