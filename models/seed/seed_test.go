package seed

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"roster/models"
)

// Fill makes the users and address books it was asked for, with the
// joiner number in exactly the popular books, and refuses a database that
// has users already.
func TestFill(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := models.Open(ctx, filepath.Join(t.TempDir(), "roster.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	hasher := models.NewPhoneHasher(bytes.Repeat([]byte{7}, 32))
	cfg := Config{Users: 200, Books: 20, BookMin: 5, BookMax: 30, UserShare: 0.5, Popular: 8, RandSeed: 1,
		Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}

	st, err := Fill(ctx, db, hasher, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if st.Users != 200 || st.Books != 20 {
		t.Errorf("stats: %d users, %d books; want 200, 20", st.Users, st.Books)
	}
	count := func(q string, args ...any) int64 {
		t.Helper()
		var n int64
		if err := db.Read.Raw(q, args...).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count("SELECT COUNT(*) FROM users"); n != 200 {
		t.Errorf("users: %d, want 200", n)
	}
	if n := count("SELECT COUNT(*) FROM users WHERE id = 2 AND phone = ?", UserPhone(2)); n != 1 {
		t.Errorf("user 2 does not have %s", UserPhone(2))
	}
	if n := count("SELECT COUNT(DISTINCT owner_id) FROM address_book WHERE contact_hash = ?", hasher.Hash(Joiner)); n != 8 {
		t.Errorf("the joiner number is in %d address books, want 8", n)
	}
	if n := count("SELECT COUNT(*) FROM users WHERE phone = ?", Joiner); n != 0 {
		t.Errorf("the joiner number is a user")
	}

	_, err = Fill(ctx, db, hasher, cfg, log)
	if err == nil || !strings.Contains(err.Error(), "already has 200 users") {
		t.Errorf("a second fill: %v; want a refusal", err)
	}
}

// A configuration that cannot be met is refused before anything is written.
func TestFillRefusesImpossibleConfig(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := models.Open(ctx, filepath.Join(t.TempDir(), "roster.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg := DefaultConfig()
	cfg.Users, cfg.Books, cfg.Popular = 10, 10, 0 // books must be fewer than users
	if _, err := Fill(ctx, db, models.NewPhoneHasher(bytes.Repeat([]byte{7}, 32)), cfg, log); err == nil {
		t.Fatal("books = users was accepted")
	}
	var n int64
	if err := db.Read.Raw("SELECT COUNT(*) FROM users").Scan(&n).Error; err != nil || n != 0 {
		t.Fatalf("users after the refusal: %d (%v)", n, err)
	}
}
