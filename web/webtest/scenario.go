package webtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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

	// Before prepares the state (sign people in, move the clock).
	Before func(t testing.TB, e *Env)
	// Request builds the request instead of Method/URL/Body, when it needs
	// values that Before produced.
	Request func(t testing.TB, e *Env) *http.Request

	ExpectedStatus     int            // default 200
	ExpectedFields     map[string]any // top-level JSON fields, compared as text
	ExpectedContent    []string       // substrings of the body
	NotExpectedContent []string
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
		req = httptest.NewRequest(method, s.URL, body)
	}
	for k, v := range s.Headers {
		req.Header.Set(k, v)
	}
	r := e.Do(req)
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
	if s.After != nil {
		s.After(t, e, r)
	}
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
