package models

import (
	"database/sql"
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
	plan := queryPlan(t, sqlDB, changedFromBookQuery(db))
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
	plan := strings.Join(queryPlan(t, sqlDB, changedFromChangesQuery(db)), "\n")
	for _, want := range []string{"SEARCH u USING INDEX users_profile_at (profile_at>?)", "SEARCH b USING PRIMARY KEY (owner_id=? AND contact_hash=?)"} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q:\n%s", want, plan)
		}
	}
	if strings.Contains(plan, "TEMP B-TREE") {
		t.Errorf("plan sorts:\n%s", plan)
	}
}

// queryPlan is SQLite's plan of a delta-sync statement, one line a step.
func queryPlan(t *testing.T, sqlDB *sql.DB, query string) []string {
	t.Helper()
	rows, err := sqlDB.Query("EXPLAIN QUERY PLAN "+query, 1, 0, 1, make([]byte, PhoneHashLen))
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
