package web_test

import (
	"context"
	"testing"
	"time"

	"roster/web/webtest"
)

// Departures from groups and deleted groups are kept for the token
// lifetime, so that every token that synced before them can learn of them,
// then pruned; live groups and their members stay.
func TestGroupDeparturesAndDeletedGroupsPrunedAfterTheTokenLifetime(t *testing.T) {
	e := webtest.NewPeople(t, "--token-lifetime", "720h")
	bob := e.SignIn(webtest.FRPhone, "bob-phone")
	alice := e.SignIn(webtest.USPhone, "alice-phone")
	kept := e.JSON(map[string]any{"op": "setgroup", "token": alice, "name": "Hikers", "m": "+" + webtest.FRPhone})
	kept.ExpectOK(t)
	e.JSON(map[string]any{"op": "delgroup", "token": bob, "gid": kept.String("gid")}).ExpectOK(t) // Bob leaves
	gone := e.JSON(map[string]any{"op": "setgroup", "token": alice, "name": "Bikers"})
	gone.ExpectOK(t)
	e.JSON(map[string]any{"op": "delgroup", "token": alice, "gid": gone.String("gid")}).ExpectOK(t)
	e.FanOut()

	e.Clock.Advance(29 * 24 * time.Hour)
	e.Server.Prune(context.Background())
	if d, g := e.Count("SELECT COUNT(*) FROM group_departures"), e.Count("SELECT COUNT(*) FROM chat_groups"); d != 2 || g != 2 {
		t.Fatalf("within the token lifetime: %d departures and %d groups left, want 2 and 2", d, g)
	}
	e.Clock.Advance(2 * 24 * time.Hour)
	e.Server.Prune(context.Background())
	if d := e.Count("SELECT COUNT(*) FROM group_departures"); d != 0 {
		t.Errorf("%d departures older than the token lifetime kept", d)
	}
	if g := e.Count("SELECT COUNT(*) FROM chat_groups WHERE deleted_at IS NOT NULL"); g != 0 {
		t.Errorf("%d deleted groups older than the token lifetime kept", g)
	}
	if g, m := e.Count("SELECT COUNT(*) FROM chat_groups"), e.Count("SELECT COUNT(*) FROM group_members"); g != 1 || m != 1 {
		t.Errorf("live groups: %d groups with %d members, want 1 with its owner", g, m)
	}
}
