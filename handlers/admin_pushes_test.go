package handlers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"roster/web/webtest"
)

// The dashboard shows push jobs with their attempts, each device's token
// masked with its provider and last result, today's counts on the
// overview, and the push settings in their own group.
func TestPushesOnTheDashboard(t *testing.T) {
	fcm := webtest.NewFakeFCM(t)
	e := webtest.NewPeople(t, fcm.Args()...)
	bobID, bob := e.SignedInUser(webtest.FRPhone, "bob-phone")
	e.JSON(map[string]any{"op": "setnotify", "token": bob, "notifytoken": "fcm-token-of-bob-0123456789"}).ExpectOK(t)
	e.GetContacts(t, bob, map[string]any{"phones": "+" + webtest.USPhone})
	alice := e.SignIn(webtest.USPhone, "alice-phone")
	e.FanOut()
	e.Server.Pusher().RunOnce(context.Background())
	fcm.Answer(func(string) webtest.Reply { return webtest.FCMError(404, "UNREGISTERED") })
	e.Clock.Advance(time.Minute)
	e.SetProfile(t, alice, map[string]any{"name": "Alice"})
	e.FanOut()
	e.Server.Pusher().RunOnce(context.Background())

	admin := e.AdminLogin("victor", "viewer")
	r := admin.Get("/admin/pushes")
	expectStatus(t, r, 200)
	if n := r.CountTestID(t, "push-row"); n != 2 {
		t.Fatalf("%d push rows, want 2", n)
	}
	if got := r.TestID(t, "push-type").First().Text(); got != "profile_changed" {
		t.Errorf("newest push type %q", got)
	}
	if !strings.Contains(r.TestID(t, "push-error").Text(), "UNREGISTERED") || r.CountTestID(t, "push-attempt") != 2 {
		t.Errorf("attempts or reason missing: %s", body(r))
	}
	if r = admin.Get("/admin/pushes?state=failed"); r.CountTestID(t, "push-row") != 1 {
		t.Errorf("failed filter shows %d rows", r.CountTestID(t, "push-row"))
	}

	r = admin.Get("/admin/users/" + bobID)
	cell := r.TestID(t, "session-push").Text()
	if !strings.Contains(cell, "none") || !strings.Contains(r.TestID(t, "push-result").Text(), "UNREGISTERED") {
		t.Errorf("Bob's device after UNREGISTERED: %q", cell)
	}
	e.JSON(map[string]any{"op": "setnotify", "token": bob, "notifytoken": "fcm-token-of-bob-0123456789"}).ExpectOK(t)
	r = admin.Get("/admin/users/" + bobID)
	if r.TestIDText(t, "push-provider") != "fcm" || r.TestIDText(t, "push-token") != "fcm-…6789" || strings.Contains(body(r), "fcm-token-of-bob") {
		t.Errorf("the token is not shown masked: %q", r.TestID(t, "session-push").Text())
	}

	r = admin.Get("/admin/")
	if r.TestID(t, "stat-pushes-sent").Find(".stat-value").Text() != "1" || r.TestID(t, "stat-pushes-failed").Find(".stat-value").Text() != "1" {
		t.Errorf("overview: sent %q failed %q", r.TestIDText(t, "stat-pushes-sent"), r.TestIDText(t, "stat-pushes-failed"))
	}
	r = admin.Get("/admin/settings")
	if !strings.Contains(body(r), "fcm-credentials-file") || !strings.Contains(body(r), "Push notifications") {
		t.Error("the settings page does not show the push settings")
	}
}

func TestPushesPageWhenOff(t *testing.T) {
	e := webtest.New(t)
	r := e.AdminLogin("victor", "viewer").Get("/admin/pushes")
	expectStatus(t, r, 200)
	if r.CountTestID(t, "pushes-off") != 1 || r.CountTestID(t, "pushes-empty") != 1 {
		t.Errorf("page %s", body(r))
	}
}

// A state, provider or date the pushes page cannot use is named, not
// silently dropped.
func TestPushesPageNamesAnUnknownState(t *testing.T) {
	e := webtest.New(t)
	r := e.AdminLogin("victor", "viewer").Get("/admin/pushes?state=lost")
	if got := r.TestIDText(t, "notice-error"); got != "Ignored: state=“lost” (pending, sending, sent or failed; showing every push)." {
		t.Errorf("notice %q", got)
	}
	r = e.AdminLogin("val", "viewer").Get("/admin/pushes?provider=apns&from=yesterday")
	if got := r.TestIDText(t, "notice-error"); got != "Dates must be written YYYY-MM-DD; “yesterday” was ignored. Ignored: provider=“apns” (not a provider of --push)." {
		t.Errorf("notice %q", got)
	}
	if r := e.AdminLogin("vera", "viewer").Get("/admin/pushes?state=failed"); r.CountTestID(t, "notice-error") != 0 {
		t.Error("a known state is named as ignored")
	}
}
