package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"roster/web/webtest"
)

// The outbox shows message texts, which hold live sign-in codes, only to
// operators and owners: a viewer who could read them could sign in as
// anyone. The viewer still sees that messages went out.
func TestOutboxTextsOnlyForThoseWhoAct(t *testing.T) {
	e := webtest.New(t)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	code := e.LastCode("+" + webtest.USPhone)

	viewer := e.AdminLogin("victor", "viewer").Get("/admin/outbox")
	expectStatus(t, viewer, 200)
	if strings.Contains(body(viewer), code) {
		t.Errorf("a viewer is shown the live code %s", code)
	}
	if n := viewer.CountTestID(t, "outbox-row"); n != 1 {
		t.Errorf("viewer sees %d outbox rows, want 1", n)
	}
	if viewer.CountTestID(t, "outbox-body") != 0 || viewer.CountTestID(t, "outbox-body-hidden") != 1 {
		t.Errorf("viewer's outbox shows message texts: %s", viewer.Body)
	}

	for _, role := range []string{"operator", "owner"} {
		r := e.AdminLogin("a-"+role, role).Get("/admin/outbox")
		if r.CountTestID(t, "outbox-body") != 1 || !strings.Contains(body(r), code) {
			t.Errorf("%s does not see the message text", role)
		}
	}
}

// The outbox pages back by keyset, filters by channel and by dates (UTC
// days, named when unreadable), and links each message to its attempts.
func TestOutboxPagingFiltersAndAttempts(t *testing.T) {
	e := webtest.NewPeople(t) // 2026-03-02
	askCodes(t, e, 0, 28)
	e.Clock.Advance(24 * time.Hour)
	askCodes(t, e, 28, 2)
	e.Server.Worker().RunOnce(context.Background())
	a := e.AdminLogin("olga", "operator")
	count := func(url string) int { return a.Get(url).CountTestID(t, "outbox-row") }
	first := a.Get("/admin/outbox?size=25")
	if n := first.CountTestID(t, "outbox-row"); n != 25 {
		t.Fatalf("first page: %d messages", n)
	}
	if n := follow(t, a, first, "older-page").CountTestID(t, "outbox-row"); n != 5 {
		t.Errorf("older page: %d messages, want 5", n)
	}
	for url, want := range map[string]int{
		"/admin/outbox?from=2026-03-03":                 2,
		"/admin/outbox?to=2026-03-02":                   28,
		"/admin/outbox?from=2026-03-02&to=2026-03-02":   28,
		"/admin/outbox?channel=console&from=2026-03-03": 2,
		"/admin/outbox?channel=mesibo":                  0,
	} {
		if n := count(url); n != want {
			t.Errorf("%s: %d messages, want %d", url, n, want)
		}
	}
	r := a.Get("/admin/outbox?from=March")
	if got := r.TestIDText(t, "notice-error"); got != "Dates must be written YYYY-MM-DD; “March” was ignored." {
		t.Errorf("notice %q", got)
	}
	if r.TestIDText(t, "outbox-channel") != "console" {
		t.Errorf("channel column %q", r.TestIDText(t, "outbox-channel"))
	}
	msg := follow(t, a, r, "outbox-attempts")
	expectStatus(t, msg, http.StatusOK)
	if msg.CountTestID(t, "attempt-row") != 1 || !strings.Contains(msg.TestIDText(t, "message-body"), "is your") {
		t.Errorf("message page: %.3000s", msg.Body)
	}
	href, _ := r.TestID(t, "outbox-attempts").Attr("href")
	viewer := e.AdminLogin("vera", "viewer").Get(href)
	if viewer.CountTestID(t, "message-body") != 0 || viewer.CountTestID(t, "message-body-hidden") != 1 || viewer.CountTestID(t, "attempt-row") != 1 {
		t.Errorf("a viewer's message page: %.3000s", viewer.Body)
	}
}

// A recipient's number is written as on every other page, and a message
// whose text was removed says so in words, not as an empty code pill.
func TestOutboxFormatsNumbersAndSaysTextRemoved(t *testing.T) {
	e := webtest.New(t)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	a := e.AdminLogin("olivia", "owner")
	r := a.Get("/admin/outbox")
	if got := strings.TrimSpace(r.TestIDText(t, "outbox-to")); got != "+1 201-555-0123" {
		t.Errorf("recipient shown as %q", got)
	}
	// As a channel that reaches phones leaves a sent message (models.Outbox).
	if err := e.Server.DB().Write.Exec("UPDATE outbox SET body = '[delivered; text removed]'").Error; err != nil {
		t.Fatal(err)
	}
	r = a.Get("/admin/outbox")
	if got := r.TestIDText(t, "outbox-body-removed"); got != "delivered; text removed" || r.CountTestID(t, "outbox-body") != 0 {
		t.Errorf("a removed text shown as %q, %d code cells", got, r.CountTestID(t, "outbox-body"))
	}
}
