package models

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"gorm.io/gorm"
)

// The triggers that keep derived columns and tables on both databases must
// write the same thing.

// Tricky profile texts: JSON escapes (quotes, backslashes, every control
// character but NUL, which PostgreSQL text cannot hold), characters some
// encoders escape and others do not (/, <, >, &, U+2028, DEL), and non-ASCII.
func trickyProfiles() []string {
	var controls []rune
	for r := rune(1); r < 0x20; r++ {
		controls = append(controls, r)
	}
	return []string{
		"", "Alice Martin", `quote " and back\slash`, string(controls), "a/b <b>&amp;</b> \u2028\u2029 \x7f",
		"Chloé Ærø Straße", "Ирина ПЕТРОВА", "李小龙", "emoji 🙂👍🏽", "tab\tnew\nline\r",
	}
}

type profileRow struct {
	phone, name, status, photo, thumbnail string
	profileAt                             int64
}

func contactEntries(t *testing.T, g *gorm.DB, rows []profileRow) []string {
	t.Helper()
	var out []string
	for _, r := range rows {
		var got string
		if err := g.Raw("SELECT contact_json FROM users WHERE phone = ?", r.phone).Scan(&got).Error; err != nil {
			t.Fatal(err)
		}
		out = append(out, got)
	}
	return out
}

// users.contact_json is what getcontacts sends: both databases must render
// it byte for byte alike, on insert and on every update that changes it.
func TestPostgresContactJSONMatchesSQLite(t *testing.T) {
	t.Parallel()
	lite, pg := testDB(t).Write, testPostgres(t)
	texts := trickyProfiles()
	var rows []profileRow
	for i, s := range texts {
		rows = append(rows, profileRow{
			phone: fmt.Sprintf("+1201555%04d", i), name: s, status: texts[(i+1)%len(texts)],
			photo: "p" + s, thumbnail: s + "tn", profileAt: 1733000123456 + int64(i)*999,
		})
	}
	for _, g := range []*gorm.DB{lite, pg} {
		for _, r := range rows {
			if err := g.Exec(`INSERT INTO users (phone, country_code, name, status, photo, thumbnail, created_at, profile_at)
				VALUES (?, 1, ?, ?, ?, ?, 1, ?)`, r.phone, r.name, r.status, r.photo, r.thumbnail, r.profileAt).Error; err != nil {
				t.Fatal(err)
			}
		}
	}
	compare := func(when string) {
		t.Helper()
		want, got := contactEntries(t, lite, rows), contactEntries(t, pg, rows)
		for i := range want {
			if !json.Valid([]byte(want[i])) {
				t.Errorf("%s: SQLite's entry is not JSON: %q", when, want[i])
			}
			if got[i] != want[i] {
				t.Errorf("%s, row %d:\n SQLite     %q\n PostgreSQL %q", when, i, want[i], got[i])
			}
		}
	}
	compare("after insert")

	for _, g := range []*gorm.DB{lite, pg} {
		for i, r := range rows {
			if err := g.Exec("UPDATE users SET name = ?, status = '', profile_at = profile_at + 1000 WHERE phone = ?",
				r.name+" renamed", r.phone).Error; err != nil {
				t.Fatal(err)
			}
			if i%2 == 0 {
				if err := g.Exec("UPDATE users SET phone = ? WHERE phone = ?", r.phone+"9", r.phone).Error; err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for i := range rows {
		if i%2 == 0 {
			rows[i].phone += "9"
		}
	}
	compare("after updates")
}

// The name-search triggers make the same grams on both databases, and follow
// renames and deletions alike.
func TestPostgresNameGramsMatchSQLite(t *testing.T) {
	t.Parallel()
	lite, pg := testDB(t).Write, testPostgres(t)
	names := []string{"Alice Martin", "Chloé", "ÉLODIE Ærø", "Straße", "ŁÓDŹ", "Ирина ПЕТРОВА", "ΣΩΚΡΑΤΗΣ", "José-María O'Brien", "李小龙", "x_y%z", "ab", "aaaaaa"}
	grams := func(g *gorm.DB) []string {
		t.Helper()
		var out []string
		if err := g.Raw("SELECT u.phone || ':' || n.gram FROM user_name_grams n JOIN users u ON u.id = n.user_id").Scan(&out).Error; err != nil {
			t.Fatal(err)
		}
		slices.Sort(out) // in Go: the databases' collations need not agree
		return out
	}
	compare := func(when string) {
		t.Helper()
		want, got := grams(lite), grams(pg)
		if !slices.Equal(want, got) {
			t.Errorf("%s: grams differ\n SQLite     %q\n PostgreSQL %q", when, want, got)
		}
		if len(want) == 0 && when == "after insert" {
			t.Error("no grams at all")
		}
	}
	for _, g := range []*gorm.DB{lite, pg} {
		for i, n := range names {
			if err := g.Exec("INSERT INTO users (phone, country_code, name, created_at, profile_at) VALUES (?, 1, ?, 1, 1)",
				fmt.Sprintf("+1201555%04d", i), n).Error; err != nil {
				t.Fatal(err)
			}
		}
	}
	compare("after insert")
	for _, g := range []*gorm.DB{lite, pg} {
		for _, stmt := range []string{
			"UPDATE users SET name = 'Zoë Ödegaard' WHERE phone = '+12015550000'",
			"UPDATE users SET name = '' WHERE phone = '+12015550001'",
			"UPDATE users SET name = 'Bob' WHERE phone = '+12015550010'",
			"DELETE FROM users WHERE phone = '+12015550002'",
		} {
			if err := g.Exec(stmt).Error; err != nil {
				t.Fatal(err)
			}
		}
	}
	compare("after renames and a deletion")

	// The fold table is written out in both dialects' migrations: the
	// copies must agree.
	foldMap := func(g *gorm.DB) []string {
		t.Helper()
		var out []string
		if err := g.Raw("SELECT ch || '=' || folded FROM name_fold_map").Scan(&out).Error; err != nil {
			t.Fatal(err)
		}
		slices.Sort(out)
		return out
	}
	if want, got := foldMap(lite), foldMap(pg); !slices.Equal(want, got) {
		t.Errorf("name_fold_map differs:\n SQLite     %q\n PostgreSQL %q", want, got)
	}
}
