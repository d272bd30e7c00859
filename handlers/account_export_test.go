package handlers_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
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

	e.JSON(map[string]any{"op": "setgroup", "token": bob, "name": "Tea party", "m": alicePhone}).ExpectOK(t)
	carol := e.SignIn(carolPhone, "carol")
	e.SetProfile(t, carol, map[string]any{"discoverable": "nobody"})

	body := exportBody(t, e, alice)
	for _, secret := range []string{alice, tablet, bob, "push-" + alice[:8], carolPhone, "12015550109"} {
		if strings.Contains(string(body), secret) {
			t.Errorf("the export holds %q: %s", secret, body)
		}
	}
	var doc models.AccountExport
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("export: %v: %s", err, body)
	}
	stored, err := os.ReadFile(filepath.Join(e.DataDir, "files", photo.String("photo")))
	if err != nil {
		t.Fatal(err)
	}
	if data, err := base64.StdEncoding.DecodeString(doc.Profile.PhotoData); err != nil || !bytes.Equal(data, stored) ||
		doc.Profile.PhotoType != http.DetectContentType(stored) || doc.Profile.Thumbnail != photo.String("tn") {
		t.Errorf("the photo in the export: %d bytes (err %v), type %q, thumbnail %d bytes; stored %d bytes",
			len(data), err, doc.Profile.PhotoType, len(doc.Profile.Thumbnail), len(stored))
	}
	if len(doc.Groups) != 1 || doc.Groups[0].Name != "Tea party" || doc.Groups[0].Role != "member" {
		t.Errorf("groups %+v", doc.Groups)
	}
	if m := doc.AddressBook.Matched; len(m) != 1 || m[0].Phone != "+"+bobPhone {
		t.Errorf("matched users %+v (carol is findable by nobody, the others are not users)", m)
	}
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
	empty := exportBody(t, e, carol)
	for _, list := range []string{`"uploads": []`, `"groups": []`, `"matched_users": []`, `"sessions": [`} {
		if !strings.Contains(string(empty), list) {
			t.Errorf("carol's export lacks %s: %s", list, empty)
		}
	}
	e.JSON(map[string]any{"op": "exportaccount"}).ExpectFail(t, "AUTHFAIL")
}
