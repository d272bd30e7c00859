package handlers_test

import (
	"strings"
	"testing"

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
