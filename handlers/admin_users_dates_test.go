package handlers_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"roster/web/webtest"
)

// listedPhones are the numbers a users page lists, sorted.
func listedPhones(t *testing.T, r *webtest.Response) []string {
	t.Helper()
	var out []string
	for _, s := range r.HTML(t).Find(`[data-testid="user-link"]`).EachIter() {
		out = append(out, strings.Join(strings.Fields(s.Text()), ""))
	}
	slices.Sort(out)
	return out
}

// The users list filters by sign-up and last-seen days (UTC), whatever its
// order; a user never seen is in no last-seen range; a date it cannot
// read is named; the CSV export follows the filter.
func TestUsersDateRanges(t *testing.T) {
	e := webtest.NewPeople(t) // 2026-03-02
	e.SignIn(alicePhone, "a")
	e.Clock.Advance(48 * time.Hour) // 03-04
	e.SignIn(bobPhone, "b")
	e.Clock.Advance(24 * time.Hour) // 03-05
	e.SignIn(alicePhone, "a2")
	a := e.AdminLogin("olga", "operator")
	expectStatus(t, a.Post("/admin/users", map[string]string{"phone": "+" + carolPhone, "name": "Carol", "password": webtest.AdminPassword}), http.StatusOK)
	if got := listedPhones(t, a.Get("/admin/users")); len(got) != 3 {
		t.Fatalf("the whole list: %v", got)
	}
	alice, bob, carol := phoneAsListed(t, a, alicePhone), phoneAsListed(t, a, bobPhone), phoneAsListed(t, a, carolPhone)
	for query, want := range map[string][]string{
		"created_from=2026-03-03":                       {bob, carol},
		"created_from=2026-03-03&sort=seen":             {bob, carol},
		"created_to=2026-03-02":                         {alice},
		"created_from=2026-03-04&created_to=2026-03-04": {bob},
		"seen_from=2026-03-05":                          {alice},
		"seen_to=2026-03-04":                            {bob},
		"seen_to=2026-03-04&sort=name":                  {bob},
		"seen_from=2026-03-01&sort=created":             {alice, bob},
		"created_from=2026-03-05&seen_from=2026-03-01":  {},
		"created_from=2026-03-02&created_to=2026-03-05": {alice, bob, carol},
	} {
		slices.Sort(want)
		if got := listedPhones(t, a.Get("/admin/users?"+query)); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", query, got, want)
		}
	}
	r := a.Get("/admin/users?created_from=2026-03-03")
	if got := r.TestIDText(t, "users-total"); got != "2 users" {
		t.Errorf("total %q", got)
	}
	if v, _ := r.TestID(t, "filter-created-from").Attr("value"); v != "2026-03-03" {
		t.Errorf("the form shows %q", v)
	}
	href, _ := r.TestID(t, "users-csv").Attr("href")
	csvReply := a.Get(href)
	rows, err := csv.NewReader(bytes.NewReader(csvReply.Body)).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("csv of %s: %v %v", href, rows, err)
	}
	r = a.Get("/admin/users?created_from=yesterday&seen_to=2026-13-01")
	if got := listedPhones(t, r); len(got) != 3 {
		t.Errorf("unreadable dates filter the list: %v", got)
	}
	if got, want := r.TestIDText(t, "notice-error"), "Ignored: created_from=“yesterday” (a date YYYY-MM-DD); seen_to=“2026-13-01” (a date YYYY-MM-DD)."; got != want {
		t.Errorf("notice %q\nwant %q", got, want)
	}
}

// phoneAsListed is a number as the users list writes it.
func phoneAsListed(t *testing.T, a *webtest.AdminClient, digits string) string {
	t.Helper()
	got := listedPhones(t, a.Get("/admin/users?q=%2B"+digits))
	if len(got) != 1 {
		t.Fatalf("%s: %v", digits, got)
	}
	return got[0]
}

// The audit log's CSV export follows its date range.
func TestAuditCSVFollowsDateRange(t *testing.T) {
	e := webtest.New(t) // 2026-03-02
	e.SignIn(webtest.USPhone, "a")
	e.Clock.Advance(24 * time.Hour)
	e.SignIn(webtest.FRPhone, "b")
	a := e.AdminLogin("olga", "operator")
	page := a.Get("/admin/audit?from=2026-03-03&to=2026-03-03")
	href, _ := page.TestID(t, "csv-link").Attr("href")
	if !strings.Contains(href, "from=2026-03-03") || !strings.Contains(href, "to=2026-03-03") {
		t.Fatalf("the export link %q drops the dates", href)
	}
	rows, err := csv.NewReader(bytes.NewReader(a.Get(href).Body)).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("csv: %v %v", rows, err)
	}
	day := time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)
	for _, row := range rows[1:] {
		at, err := time.Parse(time.RFC3339Nano, row[1])
		if err != nil || at.Before(day) || !at.Before(day.AddDate(0, 0, 1)) {
			t.Errorf("an entry of %s in the export of 2026-03-03", row[1])
		}
	}
	var n int64 // the export's own entry comes after it
	e.Server.DB().Read.Raw("SELECT COUNT(*) FROM audit_log WHERE at >= ? AND at < ? AND type <> 'admin_export_audit'", day.UnixMilli(), day.AddDate(0, 0, 1).UnixMilli()).Scan(&n)
	if int64(len(rows)-1) != n {
		t.Errorf("the export has %d entries of the day, the log %d", len(rows)-1, n)
	}
}
