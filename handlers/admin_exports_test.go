package handlers_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"

	"roster/web/webtest"
)

// The exports (every phone number, IP address and user agent) are for
// operators and owners: a viewer sees no link and gets a 403 page on the
// URL; each export is audited with who, the filter and the row count.
func TestExportsByRole(t *testing.T) {
	signedIn := func(t testing.TB, e *webtest.Env) {
		e.SignIn(webtest.USPhone, "a")
		e.SignIn(webtest.FRPhone, "b")
	}
	noExport := func(t testing.TB, e *webtest.Env, r *webtest.Response) {
		if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type IN ('admin_export_users', 'admin_export_audit')"); n != 0 {
			t.Errorf("%d exports audited", n)
		}
		if strings.Contains(string(r.Body), "+12015550123") {
			t.Error("the refusal holds a number")
		}
	}
	exported := func(typ, detail string, rows int) func(testing.TB, *webtest.Env, *webtest.Response) {
		return func(t testing.TB, e *webtest.Env, r *webtest.Response) {
			if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
				t.Errorf("content type %q", r.Header.Get("Content-Type"))
			}
			got, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
			if err != nil || len(got) != rows+1 {
				t.Errorf("%d CSV lines (with the header), want %d: %v", len(got), rows+1, err)
			}
			var details []string
			e.Server.DB().Read.Raw("SELECT actor || ' ' || detail FROM audit_log WHERE type = ?", typ).Scan(&details)
			if len(details) != 1 || details[0] != detail {
				t.Errorf("audited %q, want %q", details, detail)
			}
		}
	}
	const refusal = "Exports hold every phone number, IP address and user agent: only operators and owners download them."
	webtest.Run(t, []webtest.Scenario{
		{Name: "a viewer sees no users export", SignedInAs: "viewer", URL: "/admin/users", ExpectedTestIDs: map[string]int{"users-csv": 0}},
		{Name: "a viewer sees no audit export", SignedInAs: "viewer", URL: "/admin/audit", ExpectedTestIDs: map[string]int{"csv-link": 0}},
		{Name: "a viewer is refused the users export", SignedInAs: "viewer", URL: "/admin/users.csv", Before: signedIn,
			ExpectedStatus: http.StatusForbidden, ExpectedTestIDText: map[string]string{"notice-error": refusal}, After: noExport},
		{Name: "a viewer is refused the audit export", SignedInAs: "viewer", URL: "/admin/audit.csv?phone=%2B12015550123", Before: signedIn,
			ExpectedStatus: http.StatusForbidden, ExpectedTestIDText: map[string]string{"notice-error": refusal}, After: noExport},
		{Name: "an operator sees the users export", SignedInAs: "operator", URL: "/admin/users", ExpectedTestIDs: map[string]int{"users-csv": 1}},
		{Name: "an owner sees the audit export", SignedInAs: "owner", URL: "/admin/audit", ExpectedTestIDs: map[string]int{"csv-link": 1}},
		{Name: "an operator exports users", SignedInAs: "operator", URL: "/admin/users.csv?q=%2B1201", Before: signedIn,
			After: exported("admin_export_users", "admin:scenario-operator users CSV, filter ?q=%2B1201&sort=seen, 1 row", 1)},
		{Name: "an owner exports every user", SignedInAs: "owner", URL: "/admin/users.csv", Before: signedIn,
			After: exported("admin_export_users", "admin:scenario-owner users CSV, filter ?sort=seen, 2 rows", 2)},
		{Name: "an owner exports the audit log of a number", SignedInAs: "owner", URL: "/admin/audit.csv?phone=%2B33612345678&type=token_issued", Before: signedIn,
			After: exported("admin_export_audit", "admin:scenario-owner audit log CSV, filter ?phone=%2B33612345678&type=token_issued, 1 row", 1)},
	})
}
