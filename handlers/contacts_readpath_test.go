package handlers_test

import (
	"fmt"
	"strings"
	"testing"

	"roster/web/webtest"
)

// Syncs that change nothing run on the read pool: with the writer's one
// connection held by someone else, a re-sync, a delta sync and a token check
// still answer; an upload with a new number waits until its deadline and
// answers BUSY (nothing stored, nothing spent), and a sync record is kept
// for every request.
func TestReadsDoNotWaitForTheWriter(t *testing.T) {
	webtest.SQLiteOnly(t, "holds SQLite's one writer connection; PostgreSQL has none: its writes run side by side")
	e := webtest.NewPeople(t, "--request-timeout", "300ms")
	alice := e.SignIn(alicePhone, "a")
	e.SignIn(bobPhone, "b")
	book := map[string]any{"phones": "+" + bobPhone + ",+12015550199"}
	if got := e.GetContacts(t, alice, book); phonesOf(got.Contacts) != bobPhone {
		t.Fatalf("first upload: %+v", got.Contacts)
	}
	before := e.Count("SELECT COUNT(*) FROM contact_syncs")

	pool, err := e.Server.DB().Write.DB()
	if err != nil {
		t.Fatal(err)
	}
	held, err := pool.Conn(t.Context()) // the writer's only connection
	if err != nil {
		t.Fatal(err)
	}
	if got := e.GetContacts(t, alice, book); phonesOf(got.Contacts) != bobPhone {
		t.Errorf("re-sync with the writer taken: %+v", got.Contacts)
	}
	if got := e.GetContacts(t, alice, map[string]any{"ts": 0}); phonesOf(got.Contacts) != bobPhone {
		t.Errorf("delta sync with the writer taken: %+v", got.Contacts)
	}
	r := e.JSON(map[string]any{"op": "getcontacts", "token": alice, "phones": "+12015550198"})
	r.ExpectFail(t, "BUSY")
	if r.String("retry_after") != "1" || r.String("errmsg") == "" {
		t.Errorf("BUSY without retry_after or errmsg: %s", r.Body)
	}
	held.Close()

	if n := e.Count("SELECT COUNT(*) FROM address_book"); n != 2 {
		t.Errorf("address book has %d numbers after a BUSY upload, want 2", n)
	}
	if n := e.Count("SELECT COUNT(*) FROM contact_syncs"); n != before+2 {
		t.Errorf("sync records: %d, want %d (the re-sync and the delta sync)", n, before+2)
	}
	// The writer free again, the same upload goes through.
	e.GetContacts(t, alice, map[string]any{"phones": "+12015550198"})
	if n := e.Count("SELECT COUNT(*) FROM address_book"); n != 3 {
		t.Errorf("address book has %d numbers, want 3", n)
	}
}

// A profile change shows in the pre-rendered entries other people receive.
func TestContactEntryFollowsProfile(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "a")
	bob := e.SignIn(bobPhone, "b")
	e.SetProfile(t, bob, map[string]any{"name": `Bob "<&>" Ünal`, "status": `say "hi" \\ ok`})
	got := e.GetContacts(t, alice, map[string]any{"phones": "+" + bobPhone})
	if len(got.Contacts) != 1 || got.Contacts[0].Name != `Bob "<&>" Ünal` || got.Contacts[0].Status != `say "hi" \\ ok` ||
		got.Contacts[0].Phone != bobPhone || got.Contacts[0].GID != "0" {
		t.Fatalf("entry: %+v", got.Contacts)
	}
	e.SetProfile(t, bob, map[string]any{"name": "Robert"})
	if got = e.GetContacts(t, alice, map[string]any{"ts": 0}); len(got.Contacts) != 1 || got.Contacts[0].Name != "Robert" ||
		got.Contacts[0].TS != fmt.Sprint(e.Clock.Now().Unix()) {
		t.Errorf("after a change: %+v (now %d)", got.Contacts, e.Clock.Now().Unix())
	}
}

// A test number's national-format contacts are read in its country code's
// region, and a number with the 00 international prefix matches as login
// accepts it.
func TestContactSyncTestNumbersAnd00(t *testing.T) {
	e := webtest.NewPeople(t, "--test-numbers", "15550100001:11111111,15550100003:33333333")
	tester := e.Verify("15550100001", "11111111")
	tester.ExpectOK(t)
	e.Verify("15550100003", "33333333").ExpectOK(t)
	e.SignIn(bobPhone, "b")
	got := e.GetContacts(t, tester.String("token"), map[string]any{"phones": "(555) 010-0003,0012015550102"})
	if phones := phonesOf(got.Contacts); !strings.Contains(phones, "15550100003") || !strings.Contains(phones, bobPhone) {
		t.Errorf("test number's national contact or 00 number not matched: %s", phones)
	}
	alice := e.SignIn(alicePhone, "a")
	carol := e.SignIn(carolPhone, "c")
	for who, tok := range map[string]string{"US": alice, "French": carol} {
		if got := e.GetContacts(t, tok, map[string]any{"phones": "0012015550102"}); phonesOf(got.Contacts) != bobPhone {
			t.Errorf("%s uploader, 0012015550102: %+v", who, got.Contacts)
		}
	}
}
