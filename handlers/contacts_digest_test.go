package handlers_test

import (
	"fmt"
	"testing"
	"time"

	"roster/web/webtest"
)

// A re-sync of a list stored in full skips looking its numbers up in the
// book (the list's digest says they are all there). Whatever can take a
// number out of the book forgets the digests, so the next re-sync of that
// list stores the number again.
func TestResyncOfAStoredList(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "a")
	e.SignIn(bobPhone, "b")
	list := "+" + bobPhone + ",+12015550198,+12015550199"
	book := func() int64 { return e.Count("SELECT COUNT(*) FROM address_book") }
	digests := func() int64 { return e.Count("SELECT COUNT(*) FROM address_book_digest") }

	e.GetContacts(t, alice, map[string]any{"phones": list})
	if book() != 3 || digests() != 1 {
		t.Fatalf("after the upload: %d numbers, %d digests", book(), digests())
	}
	// The same numbers in another order and format are the same list.
	if got := e.GetContacts(t, alice, map[string]any{"phones": "(201) 555-0199,+1 201 555 0198," + bobPhone}); phonesOf(got.Contacts) != bobPhone {
		t.Errorf("re-sync: %+v", got.Contacts)
	}
	if digests() != 1 {
		t.Errorf("%d digests after a re-sync of the same list", digests())
	}

	// delcontacts: the digest goes, and the re-sync stores the number again.
	e.JSON(map[string]any{"op": "delcontacts", "token": alice, "phones": "+12015550198"}).ExpectOK(t)
	if book() != 2 || digests() != 0 {
		t.Errorf("after delcontacts: %d numbers, %d digests", book(), digests())
	}
	// That re-sync wrote only the missing number, which proves nothing
	// about the rest: the list is known again after a re-sync finds it all
	// there (its digest written with the sync records).
	e.GetContacts(t, alice, map[string]any{"phones": list})
	if book() != 3 || digests() != 0 {
		t.Errorf("re-sync after delcontacts: %d numbers, %d digests", book(), digests())
	}
	e.GetContacts(t, alice, map[string]any{"phones": list})
	if digests() != 1 {
		t.Errorf("%d digests after a re-sync that found the list all there", digests())
	}

	// reset=1 with fewer numbers: the book is that list, and the old list's
	// re-sync stores the rest again (and spends nothing: reset memory).
	e.GetContacts(t, alice, map[string]any{"phones": "+" + bobPhone, "reset": 1})
	if book() != 1 {
		t.Errorf("after the reset: %d numbers", book())
	}
	e.GetContacts(t, alice, map[string]any{"phones": list})
	if book() != 3 {
		t.Errorf("re-sync after the reset: %d numbers", book())
	}

	// One new number among stored ones: the write stores and counts just it.
	e.GetContacts(t, alice, map[string]any{"phones": list + ",+12015550197"})
	if book() != 4 {
		t.Errorf("after one new number: %d numbers", book())
	}
	if n := e.Count("SELECT new_numbers FROM contact_syncs ORDER BY id DESC LIMIT 1"); n != 1 {
		t.Errorf("new numbers recorded: %d, want 1", n)
	}
}

// A list found all in the book by a re-sync (stored before digests
// existed, or by batches) gets its digest with the next sync records, but
// only if it is still all there when they are written.
func TestResyncRecordsTheListItFoundStored(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "a")
	list := "+12015550197,+12015550198,+12015550199"
	e.GetContacts(t, alice, map[string]any{"phones": list})
	forget := func() {
		if err := e.Server.DB().Write.Exec("DELETE FROM address_book_digest").Error; err != nil {
			t.Fatal(err)
		}
	}
	forget()
	e.GetContacts(t, alice, map[string]any{"phones": list})
	if n := e.Count("SELECT COUNT(*) FROM address_book_digest"); n != 1 {
		t.Errorf("%d digests after a re-sync that found the list stored", n)
	}

	// Found stored, then a number deleted before the digest is written: the
	// write checks again and stores nothing.
	forget()
	e.GetContacts(t, alice, map[string]any{"phones": list}) // queues the digest
	if err := e.Server.DB().Write.Exec("DELETE FROM address_book WHERE contact_hash = (SELECT contact_hash FROM address_book LIMIT 1)").Error; err != nil {
		t.Fatal(err)
	}
	if n := e.Count("SELECT COUNT(*) FROM address_book_digest"); n != 0 {
		t.Errorf("a digest was stored for a list no longer all in the book")
	}
	e.GetContacts(t, alice, map[string]any{"phones": list})
	if n := e.Count("SELECT COUNT(*) FROM address_book"); n != 3 {
		t.Errorf("re-sync stored %d numbers, want 3", n)
	}
}

// An owner keeps the digests of their latest 16 lists.
func TestListDigestsPerOwnerAreBounded(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "a")
	for i := range 20 {
		e.Clock.Advance(time.Second)
		e.GetContacts(t, alice, map[string]any{"phones": fmt.Sprintf("+120155502%02d", i)})
	}
	if n := e.Count("SELECT COUNT(*) FROM address_book_digest"); n != 16 {
		t.Errorf("%d digests kept, want 16", n)
	}
	if n := e.Count("SELECT COUNT(*) FROM address_book"); n != 20 {
		t.Errorf("%d numbers in the book, want 20", n)
	}
}
