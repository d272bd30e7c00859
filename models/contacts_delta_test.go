package models

import (
	"bytes"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// On SQLite the delta sync picks and sorts its contacts from the index
// users_phone_hash alone, then reads each contact's row once, by id, in the
// sorted order: the plan that keeps 1,000 contacts cheap. (The reply's rows,
// order and bytes are the handlers' tests.)
func TestChangedPlan(t *testing.T) {
	db := testDB(t)
	sqlDB, err := db.Read.DB()
	if err != nil {
		t.Fatal(err)
	}
	plan := queryPlan(t, sqlDB, changedFromBookQuery(db), deltaArgs...)
	at := func(prefix string) int {
		return slices.IndexFunc(plan, func(s string) bool { return strings.HasPrefix(s, prefix) })
	}
	index, sorted, outer, entry := at("SEARCH u USING COVERING INDEX users_phone_hash"), at("USE TEMP B-TREE FOR ORDER BY"),
		at("SCAN s"), at("SEARCH e USING INTEGER PRIMARY KEY")
	if index < 0 || sorted < index || outer < sorted || entry < outer {
		t.Errorf("plan:\n%s", strings.Join(plan, "\n"))
	}
}

// Walking the changes, SQLite reads them from users_profile_at in the
// reply's order, looks each up in the book by its primary key, and does
// not sort.
func TestChangedFromChangesPlan(t *testing.T) {
	db := testDB(t)
	sqlDB, err := db.Read.DB()
	if err != nil {
		t.Fatal(err)
	}
	plan := strings.Join(queryPlan(t, sqlDB, changedFromChangesQuery(db), deltaArgs...), "\n")
	for _, want := range []string{"SEARCH u USING INDEX users_profile_at (profile_at>?)", "SEARCH b USING PRIMARY KEY (owner_id=? AND contact_hash=?)"} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q:\n%s", want, plan)
		}
	}
	if strings.Contains(plan, "TEMP B-TREE") {
		t.Errorf("plan sorts:\n%s", plan)
	}
}

// deltaArgs are a delta-sync statement's parameters for its plan.
var deltaArgs = []any{1, 0, 1, make([]byte, PhoneHashLen)}

// queryPlan is SQLite's plan of a statement, one line a step.
func queryPlan(t *testing.T, sqlDB *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := sqlDB.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}

// The delta sync walks the changes only when fewer users changed since ts
// than half the caller's book; a full sync (ts 0) and an empty book walk
// the book. (TestDeltaPlansAgree, in handlers, checks that both walks give
// the same reply.)
func TestFewChangesSince(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		// Users 1..6 changed at second 1..6; user 1 has 8 numbers in their
		// book (half: 4), user 2 none.
		for i := int64(1); i <= 6; i++ {
			if err := db.Write.Exec(`INSERT INTO users (id, phone, country_code, created_at, profile_at) VALUES (?, ?, 1, 0, ?)`,
				i, fmt.Sprintf("+1201555010%d", i), i*1000).Error; err != nil {
				t.Fatal(err)
			}
		}
		for j := range 8 {
			if err := db.Write.Exec(`INSERT INTO address_book (owner_id, contact_hash) VALUES (1, ?)`, bytes.Repeat([]byte{byte(j)}, PhoneHashLen)).Error; err != nil {
				t.Fatal(err)
			}
		}
		sqlDB, err := db.Read.DB()
		if err != nil {
			t.Fatal(err)
		}
		conn, err := sqlDB.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		for _, c := range []struct {
			owner, since int64
			want         bool
		}{
			{1, 0, false},    // a full sync
			{1, 1000, false}, // 6 changed, not fewer than 4
			{1, 3000, false}, // 4 changed
			{1, 4000, true},  // 3 changed
			{1, 7000, true},  // none
			{2, 7000, false}, // an empty book
		} {
			got, err := fewChangesSince(ctx, conn, c.owner, c.since)
			if err != nil || got != c.want {
				t.Errorf("owner %d since %d: %v, %v; want %v", c.owner, c.since, got, err, c.want)
			}
		}
	})
}
