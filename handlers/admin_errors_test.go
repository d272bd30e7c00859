package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	"roster/web/webtest"
)

// Errors under /admin are answered inside the dashboard's frame: the
// navigation stays, and #content is there for the next htmx swap.
func TestAdminErrorsStayInTheDashboard(t *testing.T) {
	inFrame := map[string]int{"error-page": 1, "nav-users": 1, "admin-name": 1}
	webtest.Run(t, []webtest.Scenario{
		{
			Name: "an htmx action that fails keeps #content", SignedInAs: "owner", HTMX: true,
			Method: http.MethodPost, URL: "/admin/users/abc/resend", Form: map[string]string{},
			ExpectedStatus:     http.StatusNotFound,
			ExpectedTestIDs:    inFrame,
			ExpectedTestIDText: map[string]string{"error-message": "There is no page at this address."},
			After:              expectContent,
		},
		{
			Name: "a form post that fails keeps the dashboard", SignedInAs: "operator",
			Method: http.MethodPost, URL: "/admin/users/0/block", Form: map[string]string{"password": webtest.AdminPassword},
			ExpectedStatus: http.StatusNotFound, ExpectedTestIDs: inFrame, After: expectContent,
		},
		{
			Name: "an unknown address under /admin/ is a dashboard 404", SignedInAs: "viewer",
			URL: "/admin/no-such-page", ExpectedStatus: http.StatusNotFound,
			ExpectedTestIDs: inFrame, After: expectContent,
		},
		{
			Name: "a wrong method on a dashboard page is a dashboard 404", SignedInAs: "viewer",
			URL: "/admin/users/1/block", ExpectedStatus: http.StatusNotFound,
			ExpectedTestIDs: inFrame, After: expectContent,
		},
		{
			Name: "the outbox is a dashboard 404 without the console channel", SignedInAs: "owner",
			Options: []webtest.Option{webtest.WithArgs("--otp-channel", "smtp", "--smtp-host", "127.0.0.1", "--smtp-from", "roster@example.com")},
			URL:     "/admin/outbox", ExpectedStatus: http.StatusNotFound,
			ExpectedTestIDs: map[string]int{"error-page": 1, "nav-outbox": 0}, After: expectContent,
		},
		{
			Name: "an internal error is logged with the request id, its text never shown", SignedInAs: "owner",
			URL: "/admin/", Headers: map[string]string{"X-Request-ID": "req-broken-1"},
			Before: func(t testing.TB, e *webtest.Env) {
				if err := e.Server.DB().Write.Exec("DROP TABLE contact_syncs").Error; err != nil {
					t.Fatal(err)
				}
			},
			ExpectedStatus:     http.StatusInternalServerError,
			ExpectedTestIDs:    inFrame,
			ExpectedTestIDText: map[string]string{"request-id": "req-broken-1"},
			NotExpectedContent: []string{"contact_syncs", "no such table"},
			After: func(t testing.TB, e *webtest.Env, r *webtest.Response) {
				expectContent(t, e, r)
				for _, line := range strings.Split(e.Logs(), "\n") {
					if strings.Contains(line, "request failed") && strings.Contains(line, "request_id=req-broken-1") && strings.Contains(line, "contact_syncs") {
						return
					}
				}
				t.Errorf("the internal error was not logged with its request id: %s", e.Logs())
			},
		},
		{
			Name: "signed out, an unknown address still goes to sign-in",
			URL:  "/admin/no-such-page", ExpectedStatus: http.StatusSeeOther,
			After: func(t testing.TB, _ *webtest.Env, r *webtest.Response) {
				if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, "/admin/login") {
					t.Errorf("redirect to %q", loc)
				}
			},
		},
		{
			Name: "signed out, an htmx action gets HX-Redirect", HTMX: true,
			Method: http.MethodPost, URL: "/admin/users/abc/resend", Form: map[string]string{},
			ExpectedStatus: http.StatusUnauthorized,
			After: func(t testing.TB, _ *webtest.Env, r *webtest.Response) {
				if r.Header.Get("HX-Redirect") != "/admin/login" {
					t.Errorf("HX-Redirect = %q", r.Header.Get("HX-Redirect"))
				}
			},
		},
		{
			Name: "outside /admin the public error page stays",
			URL:  "/no-such-page", ExpectedStatus: http.StatusNotFound,
			ExpectedTestIDs: map[string]int{"error-page": 1, "nav-users": 0, "admin-name": 0},
		},
	})
}

// A refusal says its sentence once, in the page, not again in a notice.
func TestRefusalSaysItOnce(t *testing.T) {
	e := webtest.New(t)
	uid, _ := e.SignedInUser(webtest.USPhone, "a")
	r := e.AdminLogin("victor", "viewer").Post("/admin/users/"+uid+"/unblock", nil)
	expectStatus(t, r, http.StatusForbidden)
	const sentence = "Your role is viewer: you can read the dashboard but not change anything."
	if n := strings.Count(body(r), sentence); n != 1 {
		t.Errorf("the 403 page says its sentence %d times", n)
	}
	if got := r.TestIDText(t, "notice-error"); got != sentence {
		t.Errorf("notice %q", got)
	}
}
