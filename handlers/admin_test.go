package handlers_test

import (
	"strconv"
	"strings"
	"testing"

	"roster/web/webtest"
)

// The dashboard's HTTP tests run against a real Roster (webtest), one file
// per handler file: admin_<page>_test.go tests admin_<page>.go.

func body(r *webtest.Response) string { return string(r.Body) }

func expectStatus(t testing.TB, r *webtest.Response, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d; body %.2000s", r.Status, want, r.Body)
	}
}

func expectIn(t testing.TB, r *webtest.Response, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(body(r), s) {
			t.Errorf("page lacks %q; body %.3000s", s, r.Body)
		}
	}
}

// expectTestIDs fails unless each data-testid is on the page.
func expectTestIDs(t testing.TB, r *webtest.Response, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if r.CountTestID(t, id) == 0 {
			t.Errorf("page lacks data-testid=%q; body %.3000s", id, r.Body)
		}
	}
}

// expectContent fails unless the page has the one #content that htmx
// swaps (a scenario's After).
func expectContent(t testing.TB, _ *webtest.Env, r *webtest.Response) {
	t.Helper()
	if n := r.HTML(t).Find("#content").Length(); n != 1 {
		t.Errorf("%d elements with id=content, want 1; body %s", n, r.Body)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
