package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"roster/web/webtest"
)

func TestUserListSearchAndPages(t *testing.T) {
	e := webtest.New(t)
	a := e.AdminLogin("alice", "owner")
	r := a.Get("/admin/users")
	expectTestIDs(t, r, "empty")
	expectIn(t, r, "No users yet")

	id, _ := e.SignedInUser(webtest.USPhone, "d1")
	e.Clock.Advance(time.Minute)
	e.SignedInUser("12015550124", "d2")
	e.Clock.Advance(time.Minute)
	e.SignedInUser(webtest.FRPhone, "d3")
	e.Server.DB().Write.Exec("UPDATE users SET name = 'Zoë Martin' WHERE phone = ?", "+"+webtest.FRPhone)
	e.Server.DB().Write.Exec("UPDATE users SET name = 'zed' WHERE phone = ?", "+12015550124")

	cases := []struct {
		q     string
		want  []string
		wantN int
	}{
		{"(201) 555-0123", []string{"+12015550123"}, 1}, // national format, the dashboard's region (US)
		{"+1 201 555 0123", []string{"+12015550123"}, 1},
		{"001 201 555 01", []string{"+12015550123", "+12015550124"}, 2}, // international prefix
		{"201 555", []string{"+12015550123", "+12015550124"}, 2},        // national prefix
		{"+33 6 12", []string{"+33612345678"}, 1},
		{"ZO", []string{"Zoë Martin"}, 1}, // name prefix, any case
		{"z", []string{"Zoë Martin", "zed"}, 2},
		{"nobody", nil, 0},
	}
	for _, c := range cases {
		r := a.Get("/admin/users?q=" + url.QueryEscape(c.q))
		expectStatus(t, r, http.StatusOK)
		if n := r.CountTestID(t, "user-row"); n != c.wantN {
			t.Errorf("q=%q: %d rows, want %d", c.q, n, c.wantN)
		}
		for _, w := range c.want {
			expectIn(t, r, w)
		}
		if c.wantN == 0 {
			expectIn(t, r, "No user matches")
		}
	}
	r = a.Get("/admin/users?q=%28201%29+555-0123")
	expectIn(t, r, "/admin/users/"+id, "Phone number +12015550123")

	// Sorted by last seen, newest first; keyset pages of 50. The bulk
	// users never signed in.
	for i := range 55 {
		e.Server.DB().Write.Exec("INSERT INTO users (phone, country_code, name, created_at, profile_at) VALUES (?, 1, ?, ?, ?)",
			"+1202555"+pad4(i), "bulk", 1000+i, 1000+i)
	}
	r = a.Get("/admin/users")
	if n := r.CountTestID(t, "user-row"); n != 50 {
		t.Fatalf("first page has %d rows", n)
	}
	next, _ := r.TestID(t, "next-page").Attr("href")
	if !strings.HasPrefix(next, "/admin/users?") || !strings.Contains(next, "after=") {
		t.Fatalf("no next-page link: %q", next)
	}
	r2 := a.Get(next)
	if n := r2.CountTestID(t, "user-row"); n != 8 {
		t.Errorf("second page has %d rows, want 8", n)
	}
	if r2.CountTestID(t, "next-page") != 0 {
		t.Error("the last page has a next link")
	}
	// Sign-up order and filters stay in the URL.
	r = a.Get("/admin/users?sort=created&inactive=1&unverified=1&state=active")
	expectStatus(t, r, http.StatusOK)
	if n := r.CountTestID(t, "user-row"); n != 50 {
		t.Errorf("filtered page has %d rows", n)
	}
	expectIn(t, r, "sort=created", "inactive=1", "unverified=1", "state=active")
	expectStatus(t, a.Get("/admin/users?after=garbage"), http.StatusOK)
	if n := r.CountTestID(t, "user-contacts"); n != 50 {
		t.Errorf("%d rows show their contacts, want 50", n)
	}
}

func pad4(i int) string {
	s := "0000" + itoa(i)
	return s[len(s)-4:]
}

func TestHostileNamesAreEscaped(t *testing.T) {
	e := webtest.New(t)
	uid, _ := e.SignedInUser(webtest.USPhone, `<img src=x onerror=alert(1)>`)
	hostile := `<script>alert("x")</script>&"'`
	if err := e.Server.DB().Write.Exec("UPDATE users SET name = ?, status = ?", hostile, hostile).Error; err != nil {
		t.Fatal(err)
	}
	a := e.AdminLogin("alice", "owner")
	for _, p := range []string{"/admin/users", "/admin/users?q=%3Cscript", "/admin/users/" + uid} {
		r := a.Get(p)
		expectStatus(t, r, http.StatusOK)
		if strings.Contains(body(r), "<script>alert") || strings.Contains(body(r), "<img src=x") {
			t.Errorf("%s: unescaped hostile text", p)
		}
		expectIn(t, r, "&lt;script&gt;alert(")
	}
	r := a.Get("/admin/users/" + uid)
	if r.Header.Get("Content-Security-Policy") == "" || r.Header.Get("X-Frame-Options") != "DENY" {
		t.Error("security headers missing on the dashboard")
	}
}
