package handlers_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"roster/web/webtest"
)

func TestAuditPageAndCSV(t *testing.T) {
	e := webtest.New(t)
	uid, _ := e.SignedInUser(webtest.USPhone, "=cmd|' /C calc'!A0")
	a := e.AdminLogin("alice", "owner")
	a.Post("/admin/users/"+uid+"/block", map[string]string{"password": webtest.AdminPassword})
	r := a.Get("/admin/audit?phone=%2B1+201+555+0123&type=admin_block")
	expectStatus(t, r, http.StatusOK)
	if n := r.CountTestID(t, "audit-row"); n != 1 {
		t.Errorf("%d rows for the block filter", n)
	}
	r = a.Get("/admin/audit?actor=admin")
	r.TestID(t, "audit-actor").Each(func(_ int, actor *goquery.Selection) {
		if !strings.HasPrefix(actor.Text(), "admin:") {
			t.Errorf("actor=admin shows an entry by %q", actor.Text())
		}
	})
	expectIn(t, r, "admin:alice", "admin_login")
	expectIn(t, a.Get("/admin/audit?from=2026-03-03"), "No entry matches")
	expectIn(t, a.Get("/admin/audit?from=2026-03-02&to=2026-03-02"), "admin_block")
	expectIn(t, a.Get("/admin/audit?from=yesterday"), "Dates must be written")
	// Each part of the filter the page does not understand is named.
	if got := a.Get("/admin/audit?type=admin_blok&phone=nobody&from=yesterday").TestIDText(t, "notice-error"); got !=
		"“nobody” is not a phone number; it matches nothing. Dates must be written YYYY-MM-DD; “yesterday” was ignored. "+
			"The log has no event type “admin_blok”; it matches nothing." {
		t.Errorf("notice %q", got)
	}

	r = a.Get("/admin/audit.csv?phone=%2B12015550123")
	expectStatus(t, r, http.StatusOK)
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Errorf("content type %q", r.Header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 5 || rows[0][0] != "id" {
		t.Fatalf("csv: %v", rows)
	}
	for _, row := range rows[1:] {
		if row[4] != "+12015550123" {
			t.Errorf("phone cell %q", row[4])
		}
		for _, cell := range row {
			if strings.HasPrefix(cell, "=") {
				t.Errorf("formula cell %q", cell)
			}
		}
	}
	// The log is append-only, even for the dashboard's own connection.
	if err := e.Server.DB().Write.Exec("DELETE FROM audit_log").Error; err == nil {
		t.Error("audit_log rows could be deleted")
	}
}

// Anyone can type a name at the dashboard's sign-in; a failed attempt is
// audited with that name as its actor and the browser's user agent. Their
// bidi controls and invisible characters are shown as markers, in the row
// and in the user agent's tooltip, and never reach the page.
func TestAuditShowsClientTextVisibly(t *testing.T) {
	e := webtest.New(t)
	m := e.Browser()
	m.Get("/admin/login")
	m.PostForm("/admin/login", map[string]string{"name": "root\u202etoor\u3164", "password": "whatever password"},
		map[string]string{"User-Agent": "Evil/1.0 \u202eoknat\u2800"})
	a := e.AdminLogin("alice", "viewer")
	r := a.Get("/admin/audit?type=admin_login_failed")
	if n := r.CountTestID(t, "audit-row"); n != 1 {
		t.Fatalf("%d failed sign-ins audited", n)
	}
	if got := r.TestIDText(t, "audit-actor"); got != "admin:root[U+202E]toor[U+3164]" {
		t.Errorf("actor shown as %q", got)
	}
	if got, _ := r.TestID(t, "audit-ip").Attr("title"); got != "Evil/1.0 [U+202E]oknat[U+2800]" {
		t.Errorf("user agent tooltip %q", got)
	}
	for _, hidden := range []string{"\u202e", "\u3164", "\u2800"} {
		if strings.Contains(body(r), hidden) {
			t.Errorf("%+q is in the page", hidden)
		}
	}
}

// A name or user agent that is not UTF-8 at the sign-in is a wrong name,
// audited with U+FFFD for the bytes, on both databases (PostgreSQL refuses
// text that is not UTF-8).
func TestAuditOfSignInTextThatIsNotUTF8(t *testing.T) {
	e := webtest.New(t)
	m := e.Browser()
	m.Get("/admin/login")
	r := m.PostForm("/admin/login", map[string]string{"name": "root\xff", "password": "whatever password"},
		map[string]string{"User-Agent": "Evil/1.0 \xfe"})
	expectStatus(t, r, http.StatusUnauthorized)
	page := e.AdminLogin("alice", "viewer").Get("/admin/audit?type=admin_login_failed")
	if got := page.TestIDText(t, "audit-actor"); got != "admin:root[U+FFFD]" {
		t.Errorf("actor shown as %q", got)
	}
	if got, _ := page.TestID(t, "audit-ip").Attr("title"); got != "Evil/1.0 [U+FFFD]" {
		t.Errorf("user agent tooltip %q", got)
	}
}

// Every type the dashboard and the sign-in flow wrote is offered by the
// audit filter, and choosing it lists its entries.
func TestAuditFilterOffersEveryWrittenType(t *testing.T) {
	e := webtest.New(t)
	uid, _ := e.SignedInUser(webtest.USPhone, "a")
	a := e.AdminLogin("alice", "owner")
	a.Post("/admin/users/"+uid+"/moderate", map[string]string{"name": "1", "password": webtest.AdminPassword})
	a.Post("/admin/users/"+uid+"/block", map[string]string{"password": webtest.AdminPassword})
	a.Get("/admin/users.csv")
	var written []string
	if err := e.Server.DB().Read.Raw("SELECT DISTINCT type FROM audit_log ORDER BY type").Scan(&written).Error; err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"admin_moderate", "admin_export_users", "admin_block", "token_issued"} {
		if !slices.Contains(written, want) {
			t.Fatalf("the setup wrote no %s entry: %v", want, written)
		}
	}
	page := a.Get("/admin/audit")
	for _, typ := range written {
		if page.HTML(t).Find(`select[name="type"] option[value="`+typ+`"]`).Length() != 1 {
			t.Errorf("the type filter does not offer %s", typ)
			continue
		}
		r := a.Get("/admin/audit?type=" + typ)
		if n := r.CountTestID(t, "audit-row"); n == 0 {
			t.Errorf("type=%s lists nothing", typ)
		}
		r.TestID(t, "audit-row").Each(func(_ int, row *goquery.Selection) {
			if !strings.Contains(row.Text(), typ) {
				t.Errorf("type=%s lists a row of another type: %s", typ, strings.Join(strings.Fields(row.Text()), " "))
			}
		})
	}
}
