package models

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// The triggers fold names in SQL, the search folds the typed text in Go:
// both must give the same text, or a search would miss.
func TestNameFoldSQLMatchesGo(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, db *DB) {
		for _, s := range []string{"", "Alice Martin", "Chloé", "ÉLODIE Ærø", "Straße", "ŁÓDŹ", "Ирина ПЕТРОВА", "ΣΩΚΡΑΤΗΣ", "José-María O'Brien", "李小龙", "x_y%z"} {
			var got string
			q := "SELECT " + db.foldNameSQL("?")
			if err := db.Read.Raw(q, slices.Repeat([]any{s}, strings.Count(q, "?"))...).Scan(&got).Error; err != nil {
				t.Fatal(err)
			}
			if want := FoldName(s); got != want {
				t.Errorf("%q: SQL folds to %q, Go to %q", s, got, want)
			}
		}
		var n int64
		db.Read.Raw("SELECT count(*) FROM name_fold_map").Scan(&n)
		if int(n) != len(nameFoldPairs()) {
			t.Errorf("name_fold_map has %d rows, nameFoldPairs %d: a new pair needs a migration", n, len(nameFoldPairs()))
		}
	})
}

// Substring search ignores case and accents, follows renames and deletions,
// and pages through the trigram walk without skipping or repeating.
func TestListUsersNameSubstring(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, db *DB) {
		clock := NewFakeClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
		d := NewDashboard(db, clock)
		for i, name := range []string{"Alice Martin", "Chloé Dubois", "MARTINE", "Bob", "Zoë Martín"} {
			db.Write.Exec("INSERT INTO users (phone, country_code, name, created_at, profile_at) VALUES (?, 1, ?, 1, 1)", fmt.Sprintf("+1201555%04d", i), name)
		}
		find := func(q string) []string {
			t.Helper()
			p, err := d.ListUsers(context.Background(), UserFilter{Search: UserSearch{Mode: SearchName, Prefix: q}})
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, r := range p.Rows {
				out = append(out, r.Name)
			}
			return out
		}
		for q, want := range map[string]string{
			"martin": "[Alice Martin MARTINE Zoë Martín]", "chloe": "[Chloé Dubois]", "CHLOÉ": "[Chloé Dubois]",
			"ice mar": "[Alice Martin]", "zoe": "[Zoë Martín]", "xyz": "[]", "a_c": "[]",
		} {
			if got := fmt.Sprint(find(q)); got != want {
				t.Errorf("%q finds %s, want %s", q, got, want)
			}
		}
		db.Write.Exec("UPDATE users SET name = 'Bob Martinez' WHERE name = 'Bob'")
		db.Write.Exec("DELETE FROM users WHERE name = 'MARTINE'")
		if got := fmt.Sprint(find("martin")); got != "[Alice Martin Zoë Martín Bob Martinez]" && got != "[Alice Martin Bob Martinez Zoë Martín]" {
			t.Errorf("after a rename and a deletion: %s", got)
		}
		if n := countRows(t, db, "SELECT count(*) FROM user_name_grams WHERE user_id NOT IN (SELECT id FROM users)"); n != 0 {
			t.Errorf("%d trigrams of deleted users", n)
		}
		tot, err := d.CountUsers(context.Background(), UserFilter{Search: UserSearch{Mode: SearchName, Prefix: "martin"}})
		if err != nil || tot.N != 3 || tot.More {
			t.Errorf("total %+v %v", tot, err)
		}

		// Pages forward then back, with a small budget.
		for i := range 30 {
			db.Write.Exec("INSERT INTO users (phone, country_code, name, created_at, profile_at) VALUES (?, 1, ?, 1, 1)", fmt.Sprintf("+1202555%04d", i), fmt.Sprintf("Ann Lee %d", i))
		}
		d.scanBudget = 7
		f := UserFilter{Search: UserSearch{Mode: SearchName, Prefix: "ann lee"}, Limit: 4}
		var forward []int64
		for pages := 0; pages < 40; pages++ {
			p, err := d.ListUsers(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range p.Rows {
				forward = append(forward, r.ID)
			}
			if p.Next == "" {
				break
			}
			f.After = p.Next
		}
		if len(forward) != 30 {
			t.Fatalf("%d users over the pages, want 30", len(forward))
		}
		seen := map[int64]bool{}
		for _, id := range forward {
			if seen[id] {
				t.Fatalf("user %d twice", id)
			}
			seen[id] = true
		}
		// Back from the last page to the first.
		f.After, f.Before = "", fmt.Sprint(forward[len(forward)-1])+"."
		var back int
		for pages := 0; pages < 40; pages++ {
			p, err := d.ListUsers(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			back += len(p.Rows)
			if p.Prev == "" {
				break
			}
			f.Before = p.Prev
		}
		if back != 29 {
			t.Errorf("%d users walking back, want 29", back)
		}
	})
}

func countRows(t *testing.T, db *DB, q string) int64 {
	t.Helper()
	var n int64
	if err := db.Read.Raw(q).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}
