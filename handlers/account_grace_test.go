package handlers_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"roster/web/webtest"
)

// With --deletion-grace, deleteaccount marks the account pending: the reply
// names the date, every device is signed out at once (tokens fail, streams
// close, push tokens go), address books no longer find the account, and
// nothing else changes until the date. The chore deletes it then, through
// the one deletion path (no row names the user but those keptAfterDeletion
// allows), once: run again, it finds nothing.
func TestDeleteAccountGrace(t *testing.T) {
	e := webtest.NewPeople(t, "--deletion-grace", "72h", "--event-heartbeat", "1h")
	base := e.Listen()
	alice := e.SignIn(alicePhone, "phone")
	e.Clock.Advance(time.Minute)
	tablet := e.SignIn(alicePhone, "tablet")
	bob := e.SignIn(bobPhone, "bob")
	e.SetNotify(alice).ExpectOK(t)
	e.SetNotify(tablet).ExpectOK(t)
	e.GetContacts(t, alice, map[string]any{"phones": "+" + bobPhone})
	if got := e.GetContacts(t, bob, map[string]any{"phones": "+" + alicePhone}); len(got.Contacts) != 1 {
		t.Fatalf("bob does not find alice before: %+v", got.Contacts)
	}
	var uid int64
	var hash []byte
	e.Server.DB().Read.Raw("SELECT id, phone_hash FROM users WHERE phone = ?", "+"+alicePhone).Row().Scan(&uid, &hash)
	s := openStream(t, base+"/api/events", tablet, "")
	waitStreams(t, e, 1)

	asked := e.Clock.Now()
	r := e.JSON(map[string]any{"op": "deleteaccount", "token": alice, "confirm": alicePhone})
	r.ExpectOK(t)
	want := strconv.FormatInt(asked.Add(72*time.Hour).Unix(), 10)
	if r.String("deleted") != "false" || r.String("delete_at") != want {
		t.Fatalf("reply %s, want deleted false and delete_at %s", r.Body, want)
	}
	s.expectEnd(t, 3*time.Second)
	for _, tok := range []string{alice, tablet} {
		e.JSON(map[string]any{"op": "sessions", "token": tok}).ExpectFail(t, "AUTHFAIL")
	}
	if n := e.Count("SELECT COUNT(*) FROM sessions WHERE user_id = ? AND (notify_token != '' OR fcm_id != '')", uid); n != 0 {
		t.Errorf("%d sessions of alice keep a push token", n)
	}
	if got := e.GetContacts(t, bob, map[string]any{"phones": "+" + alicePhone}); len(got.Contacts) != 0 {
		t.Errorf("bob still finds alice during the grace: %+v", got.Contacts)
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'account_deletion_pending' AND actor = 'api' AND user_id = ? AND detail = ?",
		uid, "deletion on "+asked.Add(72*time.Hour).UTC().Format("2006-01-02 15:04 UTC")+"; 2 sessions revoked"); n != 1 {
		t.Errorf("%d account_deletion_pending entries", n)
	}
	// A restart's backfill of keyed hashes does not make it findable again.
	if _, err := e.Server.Contacts().BackfillHashes(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := e.GetContacts(t, bob, map[string]any{"phones": "+" + alicePhone}); len(got.Contacts) != 0 {
		t.Errorf("bob finds alice after the backfill: %+v", got.Contacts)
	}

	e.Clock.Advance(72*time.Hour - time.Second)
	e.Server.DeletePendingAccounts(context.Background())
	if n := e.Count("SELECT COUNT(*) FROM users WHERE id = ?", uid); n != 1 {
		t.Fatal("alice was deleted before the date")
	}
	e.Clock.Advance(time.Second)
	e.Server.DeletePendingAccounts(context.Background())
	expectOnlyKept(t, e, rowsNaming(t, e, uid, alicePhone, hash))
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'account_deleted' AND actor = 'system' AND user_id = ?", uid); n != 1 {
		t.Errorf("%d account_deleted entries", n)
	}
	e.Server.DeletePendingAccounts(context.Background()) // nothing left to do
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'account_deleted'"); n != 1 {
		t.Errorf("%d account_deleted entries after a second round", n)
	}
	if n := e.Count("SELECT COUNT(*) FROM users"); n != 1 {
		t.Errorf("%d users left, want bob", n)
	}
}

// Signing in again with a code during the grace cancels the deletion: the
// login reply says so (deletion_cancelled, once), the account is whole again
// (profile, book), address books find it again and their incremental syncs
// list it, and the chore leaves it alone after the date.
func TestDeleteAccountGraceCancelledBySignIn(t *testing.T) {
	e := webtest.NewPeople(t, "--deletion-grace", "24h")
	alice := e.SignIn(alicePhone, "phone")
	bob := e.SignIn(bobPhone, "bob")
	e.SetProfile(t, alice, map[string]any{"name": "Alice", "status": "here"})
	e.GetContacts(t, alice, map[string]any{"phones": "+" + bobPhone})
	e.GetContacts(t, bob, map[string]any{"phones": "+" + alicePhone})
	e.JSON(map[string]any{"op": "deleteaccount", "token": alice, "confirm": alicePhone}).ExpectOK(t)
	e.Clock.Advance(time.Hour)
	synced := e.GetContacts(t, bob, nil).TS

	e.Clock.Advance(time.Hour)
	e.JSON(webtest.LoginParams(alicePhone)).ExpectOK(t)
	r := e.Verify(alicePhone, e.LastCode("+"+alicePhone))
	r.ExpectOK(t)
	if r.String("deletion_cancelled") != "true" || r.String("name") != "Alice" {
		t.Fatalf("login reply %s", r.Body)
	}
	again := r.String("token")
	if got := e.GetContacts(t, bob, map[string]any{"ts": synced}); len(got.Contacts) != 1 || got.Contacts[0].Name != "Alice" {
		t.Errorf("bob's incremental sync after the cancellation: %+v", got.Contacts)
	}
	if got := e.GetContacts(t, again, nil); len(got.Contacts) != 1 {
		t.Errorf("alice's book after the cancellation: %+v", got.Contacts)
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'account_deletion_cancelled' AND actor = 'api' AND detail LIKE '%by signing in again'"); n != 1 {
		t.Errorf("%d account_deletion_cancelled entries", n)
	}
	e.Clock.Advance(time.Minute)
	e.JSON(webtest.LoginParams(alicePhone)).ExpectOK(t)
	if r := e.Verify(alicePhone, e.LastCode("+"+alicePhone)); r.String("deletion_cancelled") != "" {
		t.Errorf("a later sign-in's reply %s", r.Body)
	}

	e.Clock.Advance(48 * time.Hour)
	e.Server.DeletePendingAccounts(context.Background())
	if n := e.Count("SELECT COUNT(*) FROM users WHERE phone = ?", "+"+alicePhone); n != 1 {
		t.Error("the chore deleted a cancelled deletion")
	}
	e.JSON(map[string]any{"op": "sessions", "token": again}).ExpectOK(t)
}
