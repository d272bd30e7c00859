package models

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"
)

func testDB(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Keyset pages must neither skip nor repeat rows when many share a sort value.
func TestListUsersKeysetWithTies(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, db *DB) {
		clock := NewFakeClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
		d := NewDashboard(db, clock)
		for i := range 23 {
			seen := any(int64(5000))
			if i%5 == 0 {
				seen = nil // never seen: sorts last
			}
			name := "Same name"
			if i%2 == 0 {
				name = "same NAME"
			}
			if err := db.Write.Exec("INSERT INTO users (phone, country_code, name, created_at, profile_at, last_seen_at) VALUES (?, 1, ?, 7, 7, ?)",
				fmt.Sprintf("+1201555%04d", i), name, seen).Error; err != nil {
				t.Fatal(err)
			}
		}
		for _, f := range []UserFilter{
			{Search: UserSearch{Mode: SearchAll}},
			{Search: UserSearch{Mode: SearchAll}, Sort: "created"},
			{Search: UserSearch{Mode: SearchName, Prefix: "same"}},
			{Search: UserSearch{Mode: SearchPhone, Prefix: "+1201555"}},
		} {
			f.Limit = 4
			seen := map[int64]bool{}
			for pages := 0; ; pages++ {
				p, err := d.ListUsers(context.Background(), f)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range p.Rows {
					if seen[r.ID] {
						t.Fatalf("%+v: user %d on two pages", f.Search, r.ID)
					}
					seen[r.ID] = true
				}
				if p.Next == "" || pages > 10 {
					break
				}
				f.After = p.Next
			}
			if len(seen) != 23 {
				t.Errorf("%+v sort %q: %d users over all pages, want 23", f.Search, f.Sort, len(seen))
			}
			// And back: the page before the second is the first, and has no previous.
			f.After, f.Before = "", ""
			p1, err := d.ListUsers(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			f.After = p1.Next
			p2, err := d.ListUsers(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			f.After, f.Before = "", p2.Prev
			b, err := d.ListUsers(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(ids(b.Rows)) != fmt.Sprint(ids(p1.Rows)) || b.Prev != "" || b.Next != p1.Next {
				t.Errorf("%+v sort %q: back %v (prev %q next %q), first page %v (next %q)", f.Search, f.Sort, ids(b.Rows), b.Prev, b.Next, ids(p1.Rows), p1.Next)
			}
			f.Before = ""
		}
		if _, err := d.ListUsers(context.Background(), UserFilter{After: "x.y"}); err != ErrBadCursor {
			t.Errorf("bad cursor: %v", err)
		}
	})
}

// A rare filter pages through a bounded scan: short pages with a cursor,
// and together every match exactly once.
func TestListUsersScanBudget(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, db *DB) {
		clock := NewFakeClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
		d := NewDashboard(db, clock)
		d.scanBudget = 10
		for i := range 95 {
			seen := toMillis(clock.Now())
			if i%7 == 0 { // every 7th user inactive for a day
				seen = int64(i)
			}
			if err := db.Write.Exec("INSERT INTO users (phone, country_code, created_at, profile_at, last_seen_at) VALUES (?, 1, ?, ?, ?)",
				fmt.Sprintf("+1201555%04d", i), i, i, seen).Error; err != nil {
				t.Fatal(err)
			}
		}
		// In sign-up order, inactivity is checked on each user walked.
		f := UserFilter{Search: UserSearch{Mode: SearchAll}, InactiveDays: 1, Sort: "created", Desc: true, Limit: 3}
		got := map[int64]bool{}
		partial := 0
		for pages := 0; pages < 50; pages++ {
			p, err := d.ListUsers(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range p.Rows {
				if got[r.ID] {
					t.Fatalf("user %d twice", r.ID)
				}
				got[r.ID] = true
			}
			if p.Scanned > 0 {
				partial++
			}
			if p.Next == "" {
				break
			}
			f.After = p.Next
		}
		if len(got) != 14 { // 0, 7, ..., 91
			t.Errorf("%d inactive users found, want 14", len(got))
		}
		if partial == 0 {
			t.Error("no page stopped at the scan budget")
		}
	})
}

func ids(rows []UserRow) []int64 {
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = r.ID
	}
	return out
}
