package handlers_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
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
