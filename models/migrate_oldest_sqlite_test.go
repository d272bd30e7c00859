package models

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"

	// SQLite 3.37.2 compiled to Go, for this test only: the oldest SQLite
	// that must open roster.db.
	_ "modernc.org/sqlite"
)

// oldestSQLite is the oldest SQLite an operator may inspect roster.db
// with: Ubuntu 22.04's sqlite3 (Debian 12's is 3.40.1).
// modernc.org/sqlite v1.14.6 is this release.
const oldestSQLite = "3.37.2"

// The schema that the migrations leave parses in the oldest SQLite: its
// integrity check passes, every table and view reads, and the name-search
// triggers fire there and index names as the server does.
func TestOldestSQLiteOpensTheDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "roster.db")
	db, err := Open(context.Background(), path, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Write.Exec("INSERT INTO users (phone, country_code, name, created_at, profile_at) VALUES ('+12015550100', 1, 'Zoë Martín', 1, 1)").Error; err != nil {
		t.Fatal(err)
	}
	db.Close()

	old, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	var version string
	if err := old.QueryRow("SELECT sqlite_version()").Scan(&version); err != nil || version != oldestSQLite {
		t.Fatalf("SQLite %q %v, want %s", version, err, oldestSQLite)
	}
	var check string
	if err := old.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("SQLite %s: integrity_check %q %v", version, check, err)
	}
	rows, err := old.Query("SELECT name FROM sqlite_schema WHERE type IN ('table', 'view')")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(names) < 10 {
		t.Fatalf("read only %d tables and views", len(names))
	}
	for _, name := range names {
		var n int64
		if err := old.QueryRow(`SELECT COUNT(*) FROM "` + name + `"`).Scan(&n); err != nil {
			t.Errorf("SQLite %s cannot read %s: %v", version, name, err)
		}
	}

	grams := func(t *testing.T) []string {
		t.Helper()
		rows, err := old.Query("SELECT gram FROM user_name_grams WHERE user_id = (SELECT id FROM users WHERE phone = '+12015550100') ORDER BY gram")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var g string
			if err := rows.Scan(&g); err != nil {
				t.Fatal(err)
			}
			out = append(out, g)
		}
		return out
	}
	want := func(name string) []string {
		g := NameGrams(FoldName(name))
		slices.Sort(g)
		return g
	}
	if got := grams(t); !slices.Equal(got, want("Zoë Martín")) {
		t.Errorf("grams written by the server: %q", got)
	}
	for _, step := range []struct{ sql, name string }{
		{"DELETE FROM users WHERE phone = '+12015550100'", ""},
		{"INSERT INTO users (phone, country_code, name, created_at, profile_at) VALUES ('+12015550100', 1, 'ÉLODIE Straße', 1, 1)", "ÉLODIE Straße"},
		{"UPDATE users SET name = 'Ирина ΣΩΚΡΑΤΗΣ' WHERE phone = '+12015550100'", "Ирина ΣΩΚΡΑΤΗΣ"},
	} {
		if _, err := old.Exec(step.sql); err != nil {
			t.Fatalf("SQLite %s: %s: %v", version, step.sql, err)
		}
		if got := grams(t); !slices.Equal(got, want(step.name)) {
			t.Errorf("SQLite %s, after %s: grams %q, want %q", version, step.sql, got, want(step.name))
		}
	}
}
