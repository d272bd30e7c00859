package models

import (
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
	index, sorted, outer, entry := at("SEARCH u USING COVERING INDEX users_phone_hash"), at("USE TEMP B-TREE FOR ORDER BY"),
		at("SCAN s"), at("SEARCH e USING INTEGER PRIMARY KEY")
	if index < 0 || sorted < index || outer < sorted || entry < outer {
		t.Errorf("plan:\n%s", strings.Join(plan, "\n"))
	}
}
