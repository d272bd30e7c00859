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
