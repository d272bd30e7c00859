package models

import (
	"slices"
	"strings"
	"testing"
)

// On SQLite the delta sync walks the caller's address book and reads each
// contact's row once, by the id the book's row carries, then sorts the
// entries: the plan that keeps 1,000 contacts cheap. (The reply's rows,
// order and bytes are the handlers' tests.)
func TestChangedPlan(t *testing.T) {
	db := testDB(t)
	sqlDB, err := db.Read.DB()
	if err != nil {
		t.Fatal(err)
	}
	rows, err := sqlDB.Query("EXPLAIN QUERY PLAN "+changedQuery(db), 1, 0, 1, make([]byte, PhoneHashLen))
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
	at := func(prefix string) int {
		return slices.IndexFunc(plan, func(s string) bool { return strings.HasPrefix(s, prefix) })
	}
	book, contact, sorted := at("SEARCH b USING PRIMARY KEY (owner_id=?)"), at("SEARCH u USING INTEGER PRIMARY KEY"),
		at("USE TEMP B-TREE FOR ORDER BY")
	if book < 0 || contact < book || sorted < contact {
		t.Errorf("plan:\n%s", strings.Join(plan, "\n"))
	}
}
