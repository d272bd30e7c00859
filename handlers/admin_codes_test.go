package handlers_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"roster/web/webtest"
)

func TestResendCodeAndOutbox(t *testing.T) {
	e := webtest.New(t)
	a := e.AdminLogin("alice", "operator")
	expectTestIDs(t, a.Get("/admin/outbox"), "outbox-empty")
	expectTestIDs(t, a.Get("/admin/codes"), "codes-empty", "unverified-empty")

	r := a.Post("/admin/codes/resend", map[string]string{"phone": "(201) 555-0123"})
	expectStatus(t, r, http.StatusOK)
	expectIn(t, r, "Code for +12015550123 sent via console, valid 5 min, 5 tries left.")
	code := e.LastCode("+12015550123")
	r = a.Get("/admin/outbox")
	expectIn(t, r, code, "+12015550123")
	r = a.Get("/admin/codes")
	expectIn(t, r, "sent via console", "+12015550123")
	expectTestIDs(t, r, "unverified-table")

	// The quotas apply to admins too: the cooldown refuses an immediate resend.
	r = a.Post("/admin/codes/resend", map[string]string{"phone": "+12015550123"})
	expectStatus(t, r, http.StatusTooManyRequests)
	expectIn(t, r, "No code sent: Please wait")
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_resend_code' AND actor = 'admin:alice'"); n != 2 {
		t.Errorf("%d resends audited", n)
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'code_rate_limited'"); n != 1 {
		t.Errorf("%d refusals audited", n)
	}
	expectIn(t, a.Get("/admin/codes"), "<code>code_rate_limited</code>", "Please wait 30 seconds")
	// The filter holds for every table of the page, not only the first.
	r = a.Get("/admin/codes?q=%2B33")
	if r.CountTestID(t, "code-row") != 0 || r.CountTestID(t, "audit-row") != 0 || r.CountTestID(t, "unverified-table") != 0 {
		t.Errorf("a filter on +33 shows +1 rows: %s", r.Body)
	}
	r = a.Get("/admin/codes?q=%2B1201")
	if r.CountTestID(t, "code-row") != 1 || r.CountTestID(t, "audit-row") != 1 || r.CountTestID(t, "unverified-table") != 1 {
		t.Errorf("a filter on +1201 hides its rows: %s", r.Body)
	}
	// The overview's links: only verified codes, only failed deliveries.
	e.SignIn("12015550177", "other")
	r = a.Get("/admin/codes?state=verified")
	if n := r.CountTestID(t, "code-row"); n != 1 || r.CountTestID(t, "status-note") != 1 || r.CountTestID(t, "audit-row") != 0 {
		t.Errorf("verified filter: %d code rows", n)
	}
	if n := a.Get("/admin/codes?delivery=failed").CountTestID(t, "code-row"); n != 0 {
		t.Errorf("%d codes with a failed delivery, want 0", n)
	}
	r = a.Post("/admin/codes/resend", map[string]string{"phone": "hello"})
	expectStatus(t, r, http.StatusBadRequest)
	expectIn(t, r, "Not a phone number")

	// From the user's page.
	uid, _ := e.SignedInUser(webtest.FRPhone, "d")
	e.Clock.Advance(time.Minute)
	r = a.Post("/admin/users/"+uid+"/resend", nil)
	expectStatus(t, r, http.StatusOK)
	expectIn(t, r, "Code for +33612345678 sent via console")
}

// The codes list takes a date range of UTC days, as the audit log does, and
// says how many requests it matches; a date it cannot read is named.
func TestCodesDateRange(t *testing.T) {
	e := webtest.New(t) // 2026-03-02
	e.JSON(map[string]any{"op": "login", "appid": "a", "phone": webtest.USPhone}).ExpectOK(t)
	e.Clock.Advance(24 * time.Hour)
	e.JSON(map[string]any{"op": "login", "appid": "a", "phone": webtest.FRPhone}).ExpectOK(t)
	a := e.AdminLogin("alice", "viewer")
	for _, c := range []struct {
		query, total, phone string
	}{
		{"", "2 code requests", ""},
		{"?from=2026-03-03", "1 code request", "+33 6 12 34 56 78"},
		{"?to=2026-03-02", "1 code request", "+1 201-555-0123"},
		{"?from=2026-03-02&to=2026-03-02", "1 code request", "+1 201-555-0123"},
		{"?from=2026-03-04", "0 code requests", ""},
	} {
		r := a.Get("/admin/codes" + c.query)
		if got := r.TestIDText(t, "codes-total"); got != c.total {
			t.Errorf("%q: total %q, want %q", c.query, got, c.total)
		}
		if c.phone != "" {
			if n := r.CountTestID(t, "code-row"); n != 1 {
				t.Errorf("%q: %d rows", c.query, n)
			}
			expectIn(t, r, c.phone)
		}
	}
	r := a.Get("/admin/codes?from=yesterday")
	expectIn(t, r, "Dates must be written YYYY-MM-DD; “yesterday” was ignored.")
	if got := r.TestIDText(t, "codes-total"); got != "2 code requests" {
		t.Errorf("a dropped date still filters: %q", got)
	}
}

// A resend from a filtered list comes back to the same list.
func TestResendKeepsTheCodesFilter(t *testing.T) {
	e := webtest.New(t)
	e.JSON(map[string]any{"op": "login", "appid": "a", "phone": webtest.FRPhone}).ExpectOK(t)
	a := e.AdminLogin("alice", "operator")
	list := a.Get("/admin/codes?q=%2B1201&from=2026-03-02")
	action, _ := list.TestID(t, "resend-form").Attr("action")
	if action != "/admin/codes/resend?from=2026-03-02&q=%2B1201" {
		t.Fatalf("the resend form posts to %q", action)
	}
	for _, htmx := range []bool{false, true} {
		e.Clock.Advance(time.Minute)
		var r *webtest.Response
		if htmx {
			r = a.HTMX(action, map[string]string{"phone": "(201) 555-0123"})
		} else {
			r = a.Post(action, map[string]string{"phone": "(201) 555-0123"})
		}
		expectStatus(t, r, http.StatusOK)
		expectIn(t, r, "Code for +12015550123 sent")
		if v, _ := r.HTML(t).Find(`input[name="q"]`).Attr("value"); v != "+1201" {
			t.Errorf("htmx %v: the list after the resend is filtered by %q", htmx, v)
		}
		if v, _ := r.TestID(t, "filter-from").Attr("value"); v != "2026-03-02" {
			t.Errorf("htmx %v: the list after the resend starts %q", htmx, v)
		}
		r.TestID(t, "code-row").Each(func(_ int, row *goquery.Selection) {
			if strings.Contains(row.Text(), "+33") {
				t.Errorf("htmx %v: the filtered list shows %s", htmx, row.Text())
			}
		})
		if r.CountTestID(t, "code-row") == 0 {
			t.Errorf("htmx %v: no code listed", htmx)
		}
	}
}

// The codes page's delivery filter keeps the codes the fraud guard held
// (here: sending switched off, a stranger's code held, a user's sent), its
// total counting them alone; the fraud page links there; a delivery value
// it does not know is named, not silently dropped.
func TestCodesHeldFilter(t *testing.T) {
	e := fraudEnv(t)
	e.SignIn(webtest.USPhone, "a")
	a := e.AdminLogin("owner2", "owner")
	if r := a.Post("/admin/fraud/sending", map[string]string{"sending": "off", "password": webtest.AdminPassword}); r.Status != http.StatusOK {
		t.Fatalf("switch off: %d", r.Status)
	}
	e.Clock.Advance(time.Minute)
	e.JSON(webtest.LoginParams("12025550101")).ExpectOK(t)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)

	href, _ := a.Get("/admin/fraud").TestID(t, "held-codes").Attr("href")
	if href != "/admin/codes?delivery=held" {
		t.Fatalf("the fraud page links the held codes at %q", href)
	}
	r := a.Get(href)
	expectStatus(t, r, http.StatusOK)
	rows := r.TestID(t, "code-row")
	if rows.Length() != 1 || !strings.Contains(rows.Text(), "+1 202-555-0101") || !strings.Contains(rows.Text(), "held, not sent: sending is switched off on the dashboard") {
		t.Errorf("held codes: %d rows: %s", rows.Length(), rows.Text())
	}
	if got := r.TestIDText(t, "codes-total"); got != "1 code request" {
		t.Errorf("the held codes' total says %q", got)
	}
	if got, _ := r.TestID(t, "filter-delivery").Find("option[selected]").Attr("value"); got != "held" {
		t.Errorf("the delivery filter shows %q selected", got)
	}
	if r.CountTestID(t, "status-note") != 1 || r.CountTestID(t, "unverified-table") != 0 {
		t.Error("the unverified numbers shown under the held filter")
	}
	// The resend form keeps the filter.
	if action, _ := r.TestID(t, "resend-form").Attr("action"); action != "/admin/codes/resend?delivery=held" {
		t.Errorf("the resend form posts to %q", action)
	}

	r = a.Get("/admin/codes?delivery=failed")
	if n := r.CountTestID(t, "code-row"); n != 0 {
		t.Errorf("%d codes with a failed delivery, want 0", n)
	}
	r = a.Get("/admin/codes?delivery=lost")
	if n := r.CountTestID(t, "code-row"); n != 3 {
		t.Errorf("an unknown delivery value: %d codes, want all 3", n)
	}
	expectIn(t, r, "Ignored: delivery=“lost” (failed, held).")
}
