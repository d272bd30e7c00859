package models

import (
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
)

// A country's limits count its codes sent from the partial index of sent
// codes alone: a country held for hours keeps many held codes in the
// window, and reading each of them on every request would cost the writer
// what the hold saves.
func TestCountrySentCountPlan(t *testing.T) {
	db := testDB(t)
	query := db.Read.ToSQL(func(tx *gorm.DB) *gorm.DB {
		var times []int64
		return quotaTimes(tx, countrySent, []any{"FR"}, 500, time.Hour, time.Unix(1e9, 0)).Pluck("created_at", &times)
	})
	sqlDB, err := db.Read.DB()
	if err != nil {
		t.Fatal(err)
	}
	plan := queryPlan(t, sqlDB, query)
	if got := strings.Join(plan, "\n"); !strings.Contains(got, "USING COVERING INDEX otp_codes_country_sent") {
		t.Errorf("the count of a country's codes sent does not read the index of sent codes alone:\n%s", got)
	}
}
