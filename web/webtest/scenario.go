package webtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// Scenario is one request and what must come back, in the style of
// PocketBase's tests.ApiScenario.
type Scenario struct {
	Name    string
	Method  string // default GET
	URL     string
	Body    string
	Headers map[string]string
	Options []Option

	// Dashboard requests (see admin.go).
	// SignedInAs signs in an admin of this role (owner, operator, viewer)
	// before Before runs, and sends the request with its session.
	SignedInAs string
	// Form is sent url-encoded as the body; a signed-in admin's CSRF token
	// goes with it (as _csrf, or as a header when HTMX).
	Form map[string]string
	// HTMX sends the request as htmx does: HX-Request, and the CSRF token
	// in X-CSRF-Token instead of the form.
	HTMX bool

	// Before prepares the state (sign people in, move the clock).
	Before func(t testing.TB, e *Env)
	// Request builds the request instead of Method/URL/Body, when it needs
	// values that Before produced.
	Request func(t testing.TB, e *Env) *http.Request

	ExpectedStatus     int            // default 200
	ExpectedFields     map[string]any // top-level JSON fields, compared as text
	ExpectedContent    []string       // substrings of the body
	NotExpectedContent []string
	// ExpectedTestIDs counts the elements of the HTML reply by data-testid
	// (0: none may be there), found by an HTML parser, not by text.
	ExpectedTestIDs map[string]int
	// ExpectedTestIDText is the text of the first element by data-testid,
	// spaces trimmed.
	ExpectedTestIDText map[string]string
	// After checks anything else (database rows, logs).
	After func(t testing.TB, e *Env, r *Response)
}

// Run runs the scenarios as subtests, each against a fresh Roster.
func Run(t *testing.T, scenarios []Scenario) {
	t.Helper()
	for _, s := range scenarios {
		t.Run(s.Name, func(t *testing.T) { s.Test(t) })
	}
}

// Test runs one scenario.
func (s Scenario) Test(t *testing.T) {
	t.Helper()
	e := New(t, s.Options...)
	var admin *AdminClient
	if s.SignedInAs != "" {
		admin = e.AdminLogin("scenario-"+s.SignedInAs, s.SignedInAs)
	}
	if s.Before != nil {
		s.Before(t, e)
	}
	var req *http.Request
	if s.Request != nil {
		req = s.Request(t, e)
	} else {
		method := s.Method
		if method == "" {
			method = http.MethodGet
		}
		var body io.Reader
		if s.Body != "" {
			body = strings.NewReader(s.Body)
		}
		if s.Form != nil {
			body = strings.NewReader(s.formBody(admin))
		}
		req = httptest.NewRequest(method, s.URL, body)
		if s.Form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	for k, v := range s.Headers {
		req.Header.Set(k, v)
	}
	if s.HTMX {
		req.Header.Set("HX-Request", "true")
		if admin != nil {
			req.Header.Set("X-CSRF-Token", admin.CSRF)
		}
	}
	var r *Response
	if admin != nil {
		r = admin.Do(req)
	} else {
		r = e.Do(req)
	}
	want := s.ExpectedStatus
	if want == 0 {
		want = http.StatusOK
	}
	if r.Status != want {
		t.Errorf("status %d, want %d; body %s", r.Status, want, r.Body)
	}
	for k, v := range s.ExpectedFields {
		if got := r.String(k); got != fmt.Sprint(v) {
			t.Errorf("field %q = %q, want %q; body %s", k, got, fmt.Sprint(v), r.Body)
		}
	}
	for _, c := range s.ExpectedContent {
		if !strings.Contains(string(r.Body), c) {
			t.Errorf("body lacks %q: %s", c, r.Body)
		}
	}
	for _, c := range s.NotExpectedContent {
		if strings.Contains(string(r.Body), c) {
			t.Errorf("body has %q: %s", c, r.Body)
		}
	}
	for id, want := range s.ExpectedTestIDs {
		if got := r.CountTestID(t, id); got != want {
			t.Errorf("%d elements with data-testid=%q, want %d; body %s", got, id, want, r.Body)
		}
	}
	for id, want := range s.ExpectedTestIDText {
		if got := r.TestIDText(t, id); got != want {
			t.Errorf("data-testid=%q says %q, want %q; body %s", id, got, want, r.Body)
		}
	}
	if s.After != nil {
		s.After(t, e, r)
	}
}

// formBody encodes Form, with the admin's CSRF token unless it goes in a header.
func (s Scenario) formBody(admin *AdminClient) string {
	v := url.Values{}
	for k, f := range s.Form {
		v.Set(k, f)
	}
	if _, set := s.Form["_csrf"]; admin != nil && !s.HTMX && !set {
		v.Set("_csrf", admin.CSRF)
	}
	return v.Encode()
}

// MustJSON marshals v or fails.
func MustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
