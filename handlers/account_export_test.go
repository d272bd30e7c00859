package handlers_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"roster/models"
	"roster/web/webtest"
)

// exportaccount answers with the caller's own data: profile, every
// session (live and ended, without any token), the address book as a count
// with the note that numbers are kept as hashes, contact syncs, uploads
// and the audit entries about them; nothing of another user; audited.
func TestExportAccount(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "phone")
	e.Clock.Advance(time.Minute)
	tablet := e.SignIn(alicePhone, "tablet")
	bob := e.SignIn(bobPhone, "bob")
	e.SetNotify(alice)
	e.JSON(map[string]any{"op": "logout", "token": tablet}).ExpectOK(t)
	e.GetContacts(t, alice, map[string]any{"phones": "+" + bobPhone + ",+33612345678,+12015550109"})
	e.GetContacts(t, bob, map[string]any{"phones": "+" + alicePhone})
	e.SetProfile(t, alice, map[string]any{"name": "Alice Liddell", "status": "away"})
	photo := e.Multipart(map[string]string{"op": "upload", "token": alice, "profile": "1"}, "photo", "me.png", testImage(t, "png", 80, 60))
	photo.ExpectOK(t)

	r := e.JSON(map[string]any{"op": "exportaccount", "token": alice})
	r.ExpectOK(t)
	for _, secret := range []string{alice, tablet, bob, "push-" + alice[:8], bobPhone} {
		if strings.Contains(string(r.Body), secret) {
			t.Errorf("the export holds %q: %s", secret, r.Body)
		}
	}
	var reply struct {
		Account models.AccountExport `json:"account"`
	}
	if err := json.Unmarshal(r.Body, &reply); err != nil {
		t.Fatalf("reply: %v: %s", err, r.Body)
	}
	doc := reply.Account
	if doc.Profile.Phone != "+"+alicePhone || doc.Profile.Name != "Alice Liddell" || doc.Profile.Status != "away" ||
		doc.Profile.Photo != photo.String("photo") || doc.Profile.Discoverable == "" {
		t.Errorf("profile %+v", doc.Profile)
	}
	if len(doc.Sessions) != 2 || doc.Sessions[0].Device != "tablet" || doc.Sessions[0].RevokedAt == nil ||
		doc.Sessions[0].RevokeReason != models.RevokeLogout || doc.Sessions[1].Device != "phone" ||
		doc.Sessions[1].RevokedAt != nil || !doc.Sessions[1].HasPushToken || doc.Sessions[0].HasPushToken {
		t.Errorf("sessions %+v", doc.Sessions)
	}
	if doc.AddressBook.Entries != 3 || !strings.Contains(doc.AddressBook.Note, "keyed hashes") {
		t.Errorf("address book %+v", doc.AddressBook)
	}
	if len(doc.Syncs) != 1 || doc.Syncs[0].Kind != "upload" || doc.Syncs[0].Received != 3 || doc.Syncs[0].Matched != 1 {
		t.Errorf("syncs %+v", doc.Syncs)
	}
	if len(doc.Uploads) != 1 || doc.Uploads[0].Name != photo.String("photo") || !doc.Uploads[0].Profile {
		t.Errorf("uploads %+v", doc.Uploads)
	}
	types := map[string]int{}
	for _, a := range doc.Audit {
		types[a.Type]++
	}
	if types[models.EventUserCreated] != 1 || types[models.EventTokenIssued] != 2 || types[models.EventTokenRevoked] != 1 || len(doc.Truncated) != 0 {
		t.Errorf("audit entries by type %v, truncated %v", types, doc.Truncated)
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'account_exported' AND phone = ?", "+"+alicePhone); n != 1 {
		t.Errorf("%d account_exported entries", n)
	}

	// A user with nothing but a sign-in gets empty lists, not nulls.
	empty := e.JSON(map[string]any{"op": "exportaccount", "token": bob})
	empty.ExpectOK(t)
	for _, list := range []string{`"uploads":[]`, `"contact_syncs":[{`, `"sessions":[{`} {
		if !strings.Contains(string(empty.Body), list) {
			t.Errorf("bob's export lacks %s: %s", list, empty.Body)
		}
	}
	e.JSON(map[string]any{"op": "exportaccount"}).ExpectFail(t, "AUTHFAIL")
}
