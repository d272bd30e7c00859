package web_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"roster/web/webtest"
)

// Pending deletions with two instances: both run the chore at once while
// three of the six users sign in again on the other instance. Every
// account is deleted once or kept whole: a sign-in that says it cancelled
// the deletion kept its account (same id), one that came after the
// deletion made a new account, and no account is deleted twice.
func TestPendingDeletionsAcrossInstances(t *testing.T) {
	a, b, _, _ := twoInstances(t, "--deletion-grace", "1h")
	const users, back = 6, 3
	phone := func(u int) string { return fmt.Sprintf("120155501%02d", u) }
	ids := make([]int64, users)
	for u := range users {
		tok := a.SignIn(phone(u), "phone")
		a.JSON(map[string]any{"op": "deleteaccount", "token": tok, "confirm": phone(u)}).ExpectOK(t)
		a.Server.DB().Read.Raw("SELECT id FROM users WHERE phone = ?", "+"+phone(u)).Scan(&ids[u])
	}
	a.Clock.Advance(2 * time.Hour)
	b.Clock.Advance(2 * time.Hour)
	codes := make([]string, back)
	for u := range back {
		b.JSON(webtest.LoginParams(phone(u))).ExpectOK(t)
		codes[u] = b.LastCode("+" + phone(u))
	}

	replies := make([]*webtest.Response, back)
	var wg sync.WaitGroup
	wg.Go(func() { a.Server.DeletePendingAccounts(context.Background()) })
	wg.Go(func() { b.Server.DeletePendingAccounts(context.Background()) })
	for u := range back {
		wg.Go(func() { replies[u] = b.Verify(phone(u), codes[u]) })
	}
	wg.Wait()

	deleted := int64(0)
	for u := range users {
		var now int64
		a.Server.DB().Read.Raw("SELECT id FROM users WHERE phone = ?", "+"+phone(u)).Scan(&now)
		kept := a.Count("SELECT COUNT(*) FROM users WHERE id = ?", ids[u]) == 1
		entries := a.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'account_deleted' AND user_id = ?", ids[u])
		switch {
		case u >= back && (kept || entries != 1):
			t.Errorf("user %d: kept %v, %d account_deleted entries; want deleted once", u, kept, entries)
		case u < back && replies[u].String("deletion_cancelled") == "true" && (!kept || now != ids[u] || entries != 0):
			t.Errorf("user %d: the sign-in cancelled the deletion, but kept %v (id %d, was %d), %d deletions", u, kept, now, ids[u], entries)
		case u < back && replies[u].String("deletion_cancelled") != "true" && (kept || now == 0 || entries != 1):
			t.Errorf("user %d: signed in after the deletion (%s), but the old account kept %v, new id %d, %d deletions", u, replies[u].Body, kept, now, entries)
		}
		deleted += entries
	}
	a.Server.DeletePendingAccounts(context.Background())
	b.Server.DeletePendingAccounts(context.Background())
	if n := a.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'account_deleted'"); n != deleted || n < users-back {
		t.Errorf("%d account_deleted entries after another round, want %d (at least %d)", n, deleted, users-back)
	}
}

// Two devices of one account asking for its deletion at once, on two
// instances, with a grace period: one marks it pending, the other finds
// its session ended (AUTHFAIL); the request is audited once.
func TestPendingDeletionAskedTwiceAcrossInstances(t *testing.T) {
	a, b, _, _ := twoInstances(t, "--deletion-grace", "1h")
	const users = 5
	phone := func(u int) string { return fmt.Sprintf("120155502%02d", u) }
	tokens := make([][2]string, users)
	for u := range users {
		tokens[u][0] = a.SignIn(phone(u), "phone")
		a.Clock.Advance(time.Minute)
		tokens[u][1] = a.SignIn(phone(u), "tablet")
	}
	replies := make([][2]*webtest.Response, users)
	var wg sync.WaitGroup
	for u := range users {
		for i, e := range []*webtest.Env{a, b} {
			wg.Go(func() {
				replies[u][i] = e.JSON(map[string]any{"op": "deleteaccount", "token": tokens[u][i], "confirm": phone(u)})
			})
		}
	}
	wg.Wait()
	for u := range users {
		ok := 0
		for _, r := range replies[u] {
			if r.String("result") == "OK" {
				ok++
			} else if r.String("error") != "AUTHFAIL" {
				t.Errorf("user %d: %s", u, r.Body)
			}
		}
		entries := a.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'account_deletion_pending' AND phone = ?", "+"+phone(u))
		if ok != 1 || entries != 1 {
			t.Errorf("user %d: %d requests answered OK, %d account_deletion_pending entries; want 1 and 1", u, ok, entries)
		}
	}
}
