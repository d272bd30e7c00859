package handlers_test

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"roster/web/webtest"
)

// The list says how many users its filter matches, pages both ways, sorts
// by a click on a column, searches inside names (any case, any accents) and
// exports the filter as CSV.
func TestUserListTotalPagesSortSearchCSV(t *testing.T) {
	e := webtest.New(t)
	for i := range 120 {
		name := "Bulk " + itoa(i)
		switch i {
		case 7:
			name = "Alice Martin"
		case 8:
			name = "Chloé Dubois"
		case 9:
			name = "=HYPERLINK(\"x\")"
		}
		e.Server.DB().Write.Exec("INSERT INTO users (phone, country_code, name, created_at, profile_at, last_seen_at) VALUES (?, 1, ?, ?, ?, ?)",
			"+1202555"+pad4(i), name, 1000+i, 1000+i, 5000+(i*37)%120)
	}
	a := e.AdminLogin("alice", "viewer")

	r := a.Get("/admin/users")
	if got := r.TestIDText(t, "users-total"); got != "120 users" {
		t.Errorf("total %q", got)
	}
	if r.CountTestID(t, "prev-page") != 0 {
		t.Error("the first page has a previous link")
	}
	next, _ := r.TestID(t, "next-page").Attr("href")
	p2 := a.Get(next)
	prev, _ := p2.TestID(t, "prev-page").Attr("href")
	if !strings.Contains(prev, "before=") {
		t.Fatalf("second page: no previous link (%q)", prev)
	}
	back := a.Get(prev)
	if first, again := rowNames(t, r), rowNames(t, back); strings.Join(first, ",") != strings.Join(again, ",") {
		t.Errorf("previous page of the second is not the first:\n%v\n%v", first, again)
	}
	if back.CountTestID(t, "prev-page") != 0 {
		t.Error("back on the first page, a previous link remains")
	}

	// A click on Name sorts A to Z, a second click Z to A.
	byName := a.Get("/admin/users?sort=name&order=asc")
	names := rowNames(t, byName)
	if names[0] != "=HYPERLINK(\"x\")" && names[0] != "Alice Martin" {
		t.Errorf("A to Z starts with %q", names[0])
	}
	if aria, _ := byName.TestID(t, "sort-name").Parent().Attr("aria-sort"); aria != "ascending" {
		t.Errorf("aria-sort %q", aria)
	}
	flip, _ := byName.TestID(t, "sort-name").Attr("href")
	if !strings.Contains(flip, "order=desc") {
		t.Errorf("second click: %q", flip)
	}
	if got := rowNames(t, a.Get(flip))[0]; got != "Chloé Dubois" {
		t.Errorf("Z to A starts with %q", got)
	}
	byPhone := a.Get("/admin/users?sort=phone&order=desc")
	if got := rowPhones(t, byPhone); got[0] != "+12025550119" {
		t.Errorf("phone Z to A starts with %q", got[0])
	}
	// Numbers are shown as people write them, E.164 on hover.
	if got := strings.TrimSpace(byPhone.TestID(t, "user-link").First().Text()); got != "+1 202-555-0119" {
		t.Errorf("phone shown as %q", got)
	}

	// Substring, any case, any accent.
	for q, want := range map[string]string{"martin": "Alice Martin", "CHLOE": "Chloé Dubois", "oé dub": "Chloé Dubois"} {
		r := a.Get("/admin/users?q=" + url.QueryEscape(q))
		if got := rowNames(t, r); len(got) != 1 || got[0] != want {
			t.Errorf("%q finds %v", q, got)
		}
		if got := r.TestIDText(t, "users-total"); got != "1 user" {
			t.Errorf("%q total %q", q, got)
		}
	}
	if got := a.Get("/admin/users?q=bulk").TestIDText(t, "users-total"); got != "117 users" {
		t.Errorf("bulk total %q", got)
	}

	// CSV of the filter (an operator's: viewers have none): every page,
	// formulas defused.
	a = e.AdminLogin("olga", "operator")
	csvLink, _ := a.Get("/admin/users?q=bulk").TestID(t, "users-csv").Attr("href")
	if !strings.HasPrefix(csvLink, "/admin/users.csv?") || !strings.Contains(csvLink, "q=bulk") {
		t.Errorf("csv link %q", csvLink)
	}
	rows := readCSV(t, a.Get(csvLink))
	if len(rows) != 118 || rows[0][1] != "phone" {
		t.Errorf("%d CSV rows (with the header), want 118", len(rows))
	}
	all := readCSV(t, a.Get("/admin/users.csv"))
	found := false
	for _, row := range all {
		if strings.Contains(row[2], "HYPERLINK") {
			found = true
			if !strings.HasPrefix(row[2], "'") {
				t.Errorf("formula not defused: %q", row[2])
			}
		}
	}
	if len(all) != 121 || !found {
		t.Errorf("%d CSV rows for everyone", len(all))
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_export_users' AND actor = 'admin:olga'"); n != 2 {
		t.Errorf("%d exports audited, want 2", n)
	}
}

func rowNames(t *testing.T, r *webtest.Response) []string {
	t.Helper()
	var out []string
	r.HTML(t).Find(webtest.TestIDSelector("user-name")).Each(func(_ int, s *goquery.Selection) { out = append(out, strings.TrimSpace(s.Text())) })
	return out
}

func rowPhones(t *testing.T, r *webtest.Response) []string {
	t.Helper()
	var out []string
	r.HTML(t).Find(webtest.TestIDSelector("user-link")).Each(func(_ int, s *goquery.Selection) { out = append(out, s.Find(".phone").AttrOr("data-e164", "")) })
	return out
}

func readCSV(t *testing.T, r *webtest.Response) [][]string {
	t.Helper()
	expectStatus(t, r, http.StatusOK)
	rows, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// A search keeps its own order: the Sort control is disabled during one and
// says why, instead of being ignored.
func TestUserListSortControlDuringASearch(t *testing.T) {
	e := webtest.New(t)
	e.SignedInUser(webtest.USPhone, "a")
	a := e.AdminLogin("alice", "viewer")
	r := a.Get("/admin/users?sort=name")
	if _, disabled := r.TestID(t, "sort-select").Attr("disabled"); disabled {
		t.Error("the Sort control is disabled on the whole list")
	}
	if r.CountTestID(t, "sort-note") != 0 {
		t.Error("the whole list explains a disabled Sort control")
	}
	for _, q := range []string{"%2B1201", "ali"} {
		r = a.Get("/admin/users?sort=name&q=" + q)
		if _, disabled := r.TestID(t, "sort-select").Attr("disabled"); !disabled {
			t.Errorf("q=%s: the Sort control is enabled during a search", q)
		}
		if got := r.TestIDText(t, "sort-note"); !strings.Contains(got, "clear the search to sort") {
			t.Errorf("q=%s: sort note %q", q, got)
		}
		if desc, _ := r.TestID(t, "sort-select").Attr("aria-describedby"); desc != "sort-note" {
			t.Errorf("q=%s: the disabled control is described by %q", q, desc)
		}
	}
	expectIn(t, a.Get("/admin/users?q=%2B1201"), "Phone numbers starting +1201, highest first")
	expectIn(t, a.Get("/admin/users?q=%2B1201&order=asc"), "Phone numbers starting +1201, lowest first")
}

// "Never signed in" is read from the users table: a user who signed in
// stays out of it when the retention has pruned their codes, and a user
// created without a sign-in leaves it at their first one.
func TestUserListNeverSignedIn(t *testing.T) {
	e := webtest.New(t)
	e.SignedInUser(webtest.USPhone, "a")
	e.Server.DB().Write.Exec("DELETE FROM otp_codes") // pruned, as after --retention
	// Created now: an account unseen for --recycle-after would be detached
	// from its number by the sign-in below, not signed in.
	now := e.Clock.Now().UnixMilli()
	for _, p := range []string{"+12015550177", "+12015550178"} {
		e.Server.DB().Write.Exec("INSERT INTO users (phone, country_code, created_at, profile_at) VALUES (?, 1, ?, ?)", p, now, now)
	}
	e.SignIn("12015550178", "b")
	a := e.AdminLogin("alice", "viewer")
	for _, sort := range []string{"", "&sort=created", "&sort=phone", "&sort=name"} {
		r := a.Get("/admin/users?unverified=1" + sort)
		if got := r.TestIDText(t, "users-total"); got != "1 user" {
			t.Errorf("%q: total %q", sort, got)
		}
		if got := r.TestIDText(t, "user-link"); got != "+1 201-555-0177" {
			t.Errorf("%q: lists %q", sort, got)
		}
	}
}

// The whole list's total is exact, as the overview counts it, beyond the
// bound that filters no index serves are counted to; the page size is
// chosen and kept by the page links.
func TestUserListExactTotalAndPageSize(t *testing.T) {
	e := webtest.New(t)
	now := webtest.Start().UnixMilli()
	if err := e.Server.DB().Write.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10007)
		INSERT INTO users (phone, country_code, created_at, profile_at, last_seen_at)
		SELECT '+1202' || CAST(1000000 + i AS TEXT), 1, i, i, ? FROM n`, now).Error; err != nil {
		t.Fatal(err)
	}
	a := e.AdminLogin("alice", "viewer")
	overview := strings.TrimSpace(a.Get("/admin/").TestID(t, "stat-users").Find(".stat-value").Text())
	for _, c := range []struct{ query, want string }{
		{"", "10,007 users"},
		{"?active=30", "10,007 users"},
		{"?q=%2B1202", "10,007 users"},
		{"?state=active", "more than 10,000 users"}, // every user walked: bounded
	} {
		if got := a.Get("/admin/users"+c.query).TestIDText(t, "users-total"); got != c.want {
			t.Errorf("%q: total %q, want %q", c.query, got, c.want)
		}
	}
	if overview != "10,007" {
		t.Errorf("the overview counts %s users", overview)
	}
	for _, c := range []struct {
		size string
		rows int
	}{{"25", 25}, {"200", 200}, {"", 50}, {"7", 50}} {
		r := a.Get("/admin/users?size=" + c.size)
		if n := r.CountTestID(t, "user-row"); n != c.rows {
			t.Errorf("size=%q: %d rows, want %d", c.size, n, c.rows)
		}
		next, _ := r.TestID(t, "next-page").Attr("href")
		if c.rows != 50 && !strings.Contains(next, "size="+c.size) {
			t.Errorf("size=%q: the next page %q drops the size", c.size, next)
		}
		if c.rows == 50 && strings.Contains(next, "size=") {
			t.Errorf("size=%q: the next page %q carries a size", c.size, next)
		}
	}
}

// The last page is one click away, in any order, and pages back from it:
// the list's last 50 users (keyset pages are not numbered).
func TestUserListLastPage(t *testing.T) {
	e := webtest.New(t)
	for i := range 120 {
		e.Server.DB().Write.Exec("INSERT INTO users (phone, country_code, name, created_at, profile_at, last_seen_at) VALUES (?, 1, ?, ?, ?, ?)",
			"+1202555"+pad4(i), "User "+pad4(i), 1000+i, 1000+i, 5000+i)
	}
	a := e.AdminLogin("alice", "viewer")
	for _, c := range []struct{ query, first, last string }{
		{"sort=phone&order=asc", "+1 202-555-0000", "+1 202-555-0119"},
		{"sort=created&order=desc", "+1 202-555-0119", "+1 202-555-0000"},
		{"sort=seen&unverified=1&q=%2B1202", "", ""}, // never signed in: none, no last page
	} {
		r := a.Get("/admin/users?" + c.query)
		href, ok := r.TestID(t, "last-page").Attr("href")
		if c.last == "" {
			if ok {
				t.Errorf("%s: a last page link on the only page", c.query)
			}
			continue
		}
		if !ok || !strings.Contains(href, "page=last") {
			t.Fatalf("%s: last page link %q", c.query, href)
		}
		last := a.Get(href)
		rows := last.TestID(t, "user-link")
		if rows.Length() != 50 || strings.TrimSpace(rows.Last().Text()) != c.last {
			t.Errorf("%s: the last page has %d rows ending %q", c.query, rows.Length(), rows.Last().Text())
		}
		if last.CountTestID(t, "next-page") != 0 || last.CountTestID(t, "last-page") != 0 {
			t.Errorf("%s: the last page links further", c.query)
		}
		prev, _ := last.TestID(t, "prev-page").Attr("href")
		if strings.Contains(prev, "page=last") {
			t.Errorf("%s: previous page link %q keeps page=last", c.query, prev)
		}
		if n := a.Get(prev).CountTestID(t, "user-row"); n != 50 {
			t.Errorf("%s: the page before the last has %d rows", c.query, n)
		}
		first, _ := last.TestID(t, "first-page").Attr("href")
		if got := strings.TrimSpace(a.Get(first).TestID(t, "user-link").First().Text()); got != c.first {
			t.Errorf("%s: back at the first page, it starts %q", c.query, got)
		}
	}
}

// A filter value the list cannot use is named on the page, not dropped in
// silence.
func TestUserListNamesIgnoredFilterValues(t *testing.T) {
	e := webtest.New(t)
	a := e.AdminLogin("alice", "viewer")
	r := a.Get("/admin/users?state=gone&inactive=-3&sort=age&size=7&order=up")
	got := r.TestIDText(t, "notice-error")
	for _, want := range []string{"state=“gone” (active, blocked, lost or pending)", "inactive=“-3” (1 to 3650 days)", "sort=“age”", "size=“7”", "order=“up”"} {
		if !strings.Contains(got, want) {
			t.Errorf("the notice %q lacks %q", got, want)
		}
	}
	if n := a.Get("/admin/users?state=blocked&inactive=3&sort=seen&size=25&order=asc").CountTestID(t, "notice-error"); n != 0 {
		t.Error("valid values are called ignored")
	}
}
