package handlers_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"roster/models"
	"roster/web/webtest"
)

// Numbers of people in these tests (valid numbers, digits as apps send them).
const (
	alicePhone = "12015550101" // US
	bobPhone   = "12015550102" // US
	carolPhone = "33612345678" // France
	davePhone  = "447911123456"
	erinPhone  = "12015550105"
)

func phonesOf(cs []webtest.Contact) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Phone)
	}
	return strings.Join(out, ",")
}

func TestContactSyncFormats(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "a")
	for _, p := range []string{bobPhone, carolPhone, davePhone} {
		e.SignIn(p, "d-"+p)
	}
	e.SetProfile(t, alice, map[string]any{"name": "Alice"})
	got := e.GetContacts(t, alice, map[string]any{"phones": strings.Join([]string{
		"(201) 555-0102",      // national, read in the uploader's country (US)
		"+33 6 12 34 56 78",   // international with +
		"0033612345678",       // international with 00: the same person again
		"011 44 7911 123456",  // US international dialing prefix
		"12015550199",         // a number that is not a user
		"not a number", "123", // skipped
		"+1 555",          // impossible
		"+1 201 555 0101", // the caller: never returned
		"",                // empty item
	}, ",")})
	if phones := phonesOf(got.Contacts); phones != "" {
		for _, want := range []string{bobPhone, carolPhone, davePhone} {
			if !strings.Contains(phones, want) {
				t.Errorf("contacts %s lack %s", phones, want)
			}
		}
	}
	if len(got.Contacts) != 3 {
		t.Fatalf("want 3 contacts, got %+v", got.Contacts)
	}
	for _, c := range got.Contacts {
		if c.GID != "0" || c.TS == "" || c.TS == "0" {
			t.Errorf("contact fields: %+v", c)
		}
	}
	if got.U.Phone != alicePhone || got.U.Name != "Alice" || got.U.TS == "" {
		t.Errorf("u = %+v", got.U)
	}
	// Raw types: per-contact ts and gid are strings, top-level ts a number.
	r := e.JSON(map[string]any{"op": "getcontacts", "token": alice, "phones": "+12015550102"})
	if !strings.Contains(string(r.Body), `"gid":"0"`) || !strings.Contains(string(r.Body), `"ts":"`) {
		t.Errorf("contact types: %s", r.Body)
	}
	// The address book holds the distinct possible numbers, caller included.
	if n := e.Count("SELECT COUNT(*) FROM address_book b JOIN users u ON u.id = b.owner_id WHERE u.phone = ?", "+"+alicePhone); n != 5 {
		t.Errorf("address book has %d numbers, want 5", n)
	}
	var rec struct{ Received, Valid, NewNumbers, Matched int }
	e.Server.DB().Read.Raw("SELECT received, valid, new_numbers, matched FROM contact_syncs WHERE kind = 'upload' ORDER BY id LIMIT 1").Scan(&rec)
	if rec.Received != 9 || rec.Valid != 5 || rec.NewNumbers != 5 || rec.Matched != 3 {
		t.Errorf("sync record %+v", rec)
	}

	// A French uploader's national numbers are French.
	carol := e.SignIn("33612345670", "c2")
	got = e.GetContacts(t, carol, map[string]any{"phones": "06 12 34 56 78"})
	if phonesOf(got.Contacts) != carolPhone {
		t.Errorf("French national format: %+v", got.Contacts)
	}
	// Old clients: GET query string.
	q := e.Query(map[string]string{"op": "getcontacts", "token": alice, "phones": "2015550102"})
	q.ExpectOK(t)
	if !strings.Contains(string(q.Body), `"phone":"`+bobPhone+`"`) {
		t.Errorf("query-string sync: %s", q.Body)
	}
}

func TestNoRawNonUserNumbersStored(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "a")
	e.GetContacts(t, alice, map[string]any{"phones": "+1 201 555 0177,+33 6 99 88 77 66", "hidden": 1})
	e.GetContacts(t, alice, map[string]any{"phones": "+12015550178"})
	db := e.Server.DB().Read
	var tables []string
	db.Raw("SELECT name FROM sqlite_master WHERE type = 'table'").Scan(&tables)
	for _, tbl := range tables {
		rows, err := db.Raw("SELECT * FROM " + tbl).Rows()
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				s := fmt.Sprintf("%s", v)
				for _, raw := range []string{"2015550177", "699887766", "2015550178"} {
					if strings.Contains(s, raw) {
						t.Errorf("table %s column %s holds the raw number %s", tbl, cols[i], raw)
					}
				}
			}
		}
		rows.Close()
	}
	if n := e.Count("SELECT COUNT(*) FROM address_book"); n != 3 {
		t.Errorf("address book rows %d, want 3", n)
	}
}

func TestResetAndDelContacts(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "a")
	e.SignIn(bobPhone, "b")
	e.SignIn(carolPhone, "c")
	e.GetContacts(t, alice, map[string]any{"phones": "+" + bobPhone + ",+12015550190"})
	got := e.GetContacts(t, alice, map[string]any{"phones": "+" + carolPhone, "reset": 1})
	if phonesOf(got.Contacts) != carolPhone {
		t.Errorf("after reset the reply is %+v", got.Contacts)
	}
	if n := e.Count("SELECT COUNT(*) FROM address_book"); n != 1 {
		t.Errorf("after reset the book has %d numbers, want 1", n)
	}
	// Incremental sync now knows only Carol.
	got = e.GetContacts(t, alice, map[string]any{"ts": 0})
	if phonesOf(got.Contacts) != carolPhone {
		t.Errorf("incremental after reset: %+v", got.Contacts)
	}
	r := e.JSON(map[string]any{"op": "delcontacts", "token": alice, "phones": "06 12 34 56 78,+" + carolPhone})
	r.ExpectOK(t)
	if r.String("removed") != "1" {
		t.Errorf("removed %s", r.Body)
	}
	if n := e.Count("SELECT COUNT(*) FROM address_book"); n != 0 {
		t.Errorf("after delcontacts the book has %d numbers", n)
	}
	if got = e.GetContacts(t, alice, nil); len(got.Contacts) != 0 {
		t.Errorf("deleted contact still synced: %+v", got.Contacts)
	}
	e.JSON(map[string]any{"op": "delcontacts", "token": alice}).ExpectFail(t, "MISSINGPARA")
	// reset=1 alone empties the address book.
	e.GetContacts(t, alice, map[string]any{"phones": "+" + bobPhone})
	if got := e.GetContacts(t, alice, map[string]any{"reset": 1}); len(got.Contacts) != 0 || e.Count("SELECT COUNT(*) FROM address_book") != 0 {
		t.Errorf("reset without phones: %+v", got.Contacts)
	}
	// A JSON array of numbers works as well as a comma-separated string.
	if got := e.GetContacts(t, alice, map[string]any{"phones": []string{"+" + bobPhone, "+" + carolPhone}}); len(got.Contacts) != 2 {
		t.Errorf("phones as a JSON array: %+v", got.Contacts)
	}
	e.JSON(map[string]any{"op": "getcontacts", "phones": "+" + bobPhone}).ExpectFail(t, "AUTHFAIL")
}

// Many profile changes in one second: an incremental sync that asks from
// that second gets all of them, and never loses one made after it synced.
func TestIncrementalSyncSameSecond(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "a")
	var book []string
	tokens := map[string]string{}
	for i := 0; i < 30; i++ {
		p := fmt.Sprintf("120155502%02d", i)
		tokens[p] = e.SignIn(p, "d")
		book = append(book, "+"+p)
	}
	e.GetContacts(t, alice, map[string]any{"phones": strings.Join(book, ",")})
	e.Clock.Advance(10 * time.Second)
	T := e.Clock.Now().Unix()
	for i := 0; i < 20; i++ { // 20 changes within the same second
		e.SetProfile(t, tokens[fmt.Sprintf("120155502%02d", i)], map[string]any{"status": fmt.Sprint("busy ", i)})
	}
	got := e.GetContacts(t, alice, map[string]any{"ts": T - 1})
	if len(got.Contacts) != 20 {
		t.Fatalf("changes after T-1: %d, want 20", len(got.Contacts))
	}
	for i, c := range got.Contacts {
		if c.TS != fmt.Sprint(T) || c.Status != fmt.Sprint("busy ", i) {
			t.Errorf("row %d: %+v (want oldest first, ts %d)", i, c, T)
		}
	}
	// The client remembers T. One more change in the same second T...
	e.SetProfile(t, tokens["12015550225"], map[string]any{"status": "late"})
	got = e.GetContacts(t, alice, map[string]any{"ts": T})
	if len(got.Contacts) != 21 || got.Contacts[20].Status != "late" {
		t.Fatalf("the boundary second lost a change: %d rows", len(got.Contacts))
	}
	e.Clock.Advance(2 * time.Second)
	if got = e.GetContacts(t, alice, map[string]any{"ts": T + 1}); len(got.Contacts) != 0 {
		t.Errorf("nothing changed after T+1, got %d", len(got.Contacts))
	}
	// Full sync: ts 0 returns all 30.
	if got = e.GetContacts(t, alice, map[string]any{"ts": "0"}); len(got.Contacts) != 30 {
		t.Errorf("full sync: %d", len(got.Contacts))
	}
	e.JSON(map[string]any{"op": "getcontacts", "token": alice, "ts": "yesterday"}).ExpectFail(t, "BADREQUEST")
	if n := e.Count("SELECT COUNT(*) FROM contact_syncs WHERE kind = 'incremental'"); n != 4 {
		t.Errorf("incremental syncs recorded: %d", n)
	}
}

func TestContactPrivacy(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "a")
	bob := e.SignIn(bobPhone, "b")
	carol := e.SignIn(carolPhone, "c")
	e.SignIn(davePhone, "d")
	book := map[string]any{"phones": strings.Join([]string{"+" + bobPhone, "+" + carolPhone, "+" + davePhone}, ",")}

	e.SetProfile(t, bob, map[string]any{"discoverable": "nobody"})
	e.SetProfile(t, carol, map[string]any{"discoverable": "contacts"})
	e.Server.DB().Write.Exec("DELETE FROM users WHERE phone = ?", "+"+davePhone) // removed account
	got := e.GetContacts(t, alice, book)
	if len(got.Contacts) != 0 {
		t.Errorf("hidden, contacts-only and removed users found: %+v", got.Contacts)
	}
	// Carol adds Alice to her own address book: now Alice may find her.
	e.GetContacts(t, carol, map[string]any{"phones": "+" + alicePhone})
	got = e.GetContacts(t, alice, book)
	if phonesOf(got.Contacts) != carolPhone {
		t.Errorf("contacts-only user: %+v", got.Contacts)
	}
	if got = e.GetContacts(t, alice, map[string]any{"ts": 0}); phonesOf(got.Contacts) != carolPhone {
		t.Errorf("incremental sync ignores privacy: %+v", got.Contacts)
	}
	// Bob becomes visible again; his change time moves so incremental syncs see him.
	before := e.Clock.Now().Unix()
	e.Clock.Advance(5 * time.Second)
	e.SetProfile(t, bob, map[string]any{"discoverable": "everyone"})
	got = e.GetContacts(t, alice, map[string]any{"ts": before + 1})
	if phonesOf(got.Contacts) != bobPhone {
		t.Errorf("Bob visible again: %+v", got.Contacts)
	}
	e.JSON(map[string]any{"op": "profile", "token": bob, "discoverable": "some"}).ExpectFail(t, "BADREQUEST")
}

func TestContactLimits(t *testing.T) {
	e := webtest.NewPeople(t, "--contacts-max-per-request", "5", "--contacts-allowance", "4", "--contacts-refill-per-day", "86400")
	alice := e.SignIn(alicePhone, "a")
	six := "+12015550110,+12015550111,+12015550112,+12015550113,+12015550114,+12015550115"
	e.JSON(map[string]any{"op": "getcontacts", "token": alice, "phones": six}).ExpectFail(t, "TOOLARGE")
	e.JSON(map[string]any{"op": "delcontacts", "token": alice, "phones": six}).ExpectFail(t, "TOOLARGE")

	e.GetContacts(t, alice, map[string]any{"phones": "+12015550110,+12015550111,+12015550112"})
	r := e.JSON(map[string]any{"op": "getcontacts", "token": alice, "phones": "+12015550113,+12015550114"})
	r.ExpectFail(t, "RATELIMIT")
	if r.String("retry_after") != "1" {
		t.Errorf("retry_after %s (one number short, refilling one a second)", r.String("retry_after"))
	}
	// Known numbers are free, and a refused request stored nothing.
	e.GetContacts(t, alice, map[string]any{"phones": "+12015550110,+12015550111,+12015550112,+12015550113"})
	if n := e.Count("SELECT COUNT(*) FROM address_book"); n != 4 {
		t.Errorf("book %d", n)
	}
	// reset does not make known numbers new, in this batch or the next ones.
	e.GetContacts(t, alice, map[string]any{"phones": "+12015550110,+12015550111", "reset": 1})
	e.GetContacts(t, alice, map[string]any{"phones": "+12015550112,+12015550113"})
	if n := e.Count("SELECT COUNT(*) FROM address_book"); n != 4 {
		t.Errorf("book after reset and resend: %d", n)
	}
	e.Clock.Advance(2 * time.Second)
	e.GetContacts(t, alice, map[string]any{"phones": "+12015550114,+12015550115"})
	if n := e.Count("SELECT COUNT(*) FROM contact_syncs WHERE refused <> ''"); n != 3 {
		t.Errorf("refused syncs recorded: %d", n)
	}
	st, err := models.NewContactSyncReader(e.Server.DB(), e.Server.Contacts()).UserSync(t.Context(), 1, 50)
	if err != nil || st.NumbersStored != 6 || st.LastSyncAt == nil {
		t.Errorf("sync state %+v %v", st, err)
	}
}

// A reset to the book the user already has (clients reset and resend their
// whole book often) writes nothing: no rows deleted and inserted again, no
// reset remembered. A reset to another list still replaces the book.
func TestResetToTheSameBookWritesNothing(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "a")
	bob := e.SignIn(bobPhone, "b")
	e.GetContacts(t, alice, map[string]any{"phones": "+" + bobPhone + ",+12015550198,+12015550199", "reset": 1})
	remembered := func() int64 { return e.Count("SELECT COUNT(*) FROM address_book_reset") }
	if n := remembered(); n != 0 {
		t.Fatalf("a reset of an empty book remembered %d numbers", n)
	}
	// The same numbers, in another order and format.
	for range 3 {
		if got := e.GetContacts(t, alice, map[string]any{"phones": "(201) 555-0199,+1 201 555 0198," + bobPhone, "reset": 1}); phonesOf(got.Contacts) != bobPhone {
			t.Errorf("reset to the same book: %+v", got.Contacts)
		}
	}
	if n := remembered(); n != 0 {
		t.Errorf("resets to the same book rewrote it (%d numbers remembered as reset)", n)
	}
	if n := e.Count("SELECT COUNT(*) FROM contact_syncs WHERE reset"); n != 4 {
		t.Errorf("%d reset syncs recorded, want 4", n)
	}
	// Fewer numbers: the book is replaced.
	e.GetContacts(t, alice, map[string]any{"phones": "+12015550198,+12015550199", "reset": 1})
	if n := e.Count("SELECT COUNT(*) FROM address_book"); n != 2 || remembered() != 3 {
		t.Errorf("after a reset to fewer numbers: %d in the book, %d remembered", n, remembered())
	}
	// An empty reset of an empty book writes nothing either.
	e.GetContacts(t, bob, map[string]any{"reset": 1})
	if n := e.Count("SELECT COUNT(*) FROM address_book_reset WHERE owner_id = (SELECT id FROM users WHERE phone = ?)", "+"+bobPhone); n != 0 {
		t.Errorf("an empty reset of an empty book remembered %d numbers", n)
	}
}

// A user's uploads may write or delete so many address-book rows a day
// (--contacts-writes-per-day): a reset costs the book it clears and the
// list it stores, an upload the numbers new to the book; one that changes
// nothing is free. Past the budget: RATELIMIT, nothing changed.
func TestAddressBookWritesPerUserAreBounded(t *testing.T) {
	e := webtest.NewPeople(t, "--contacts-writes-per-day", "12")
	alice := e.SignIn(alicePhone, "a")
	bookA := map[string]any{"phones": "+12015550191,+12015550192,+12015550193", "reset": 1}
	bookB := map[string]any{"phones": "+12015550194,+12015550195,+12015550196", "reset": 1}
	e.GetContacts(t, alice, bookA)                                                                          // 0 cleared + 3 stored: 3
	e.GetContacts(t, alice, bookA)                                                                          // unchanged: free
	e.GetContacts(t, alice, bookB)                                                                          // 3 cleared + 3 stored: 9
	r := e.JSON(map[string]any{"op": "getcontacts", "token": alice, "phones": bookA["phones"], "reset": 1}) // 6 more: over 12
	r.ExpectFail(t, "RATELIMIT")
	if r.String("retry_after") == "" || !strings.Contains(r.String("errmsg"), "changed too much") {
		t.Errorf("refusal without its wait or reason: %s", r.Body)
	}
	if n := e.Count("SELECT COUNT(*) FROM address_book WHERE contact_hash IS NOT NULL"); n != 3 {
		t.Errorf("the refused reset changed the book: %d numbers", n)
	}
	e.GetContacts(t, alice, map[string]any{"phones": "+12015550197"}) // 1 new number: 10
	e.Clock.Advance(12 * time.Hour)                                   // 6 regained
	e.GetContacts(t, alice, bookA)
	if n := e.Count("SELECT COUNT(*) FROM address_book"); n != 3 {
		t.Errorf("after the wait the reset did not go through: %d numbers", n)
	}
}

// The delta sync finds a number's contact while a user holds it, and only
// then: before bob signs up, after he signs up, after he moves to another
// number (carol's number book entry is not his), after another account
// takes his old number, and after that account is deleted.
func TestDeltaFollowsTheNumbersHolder(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "a")
	e.GetContacts(t, alice, map[string]any{"phones": "+" + bobPhone + ",+" + aliceNewPhone})
	delta := func(want ...string) {
		t.Helper()
		got := contactPhones(e.GetContacts(t, alice, map[string]any{"ts": 0}))
		if !slices.Equal(got, want) {
			t.Errorf("delta: %v, want %v", got, want)
		}
	}
	delta()
	bob := e.SignIn(bobPhone, "b")
	delta(bobPhone)
	changePhone(t, e, bob, aliceNewPhone, nil).ExpectOK(t)
	delta(aliceNewPhone)
	e.Clock.Advance(time.Minute) // the number's next code may be asked for
	other := e.SignIn(bobPhone, "c")
	delta(aliceNewPhone, bobPhone)
	e.JSON(map[string]any{"op": "deleteaccount", "token": other, "confirm": bobPhone}).ExpectOK(t)
	delta(aliceNewPhone)
	e.JSON(map[string]any{"op": "deleteaccount", "token": bob, "confirm": aliceNewPhone}).ExpectOK(t)
	delta()
}

// The delta sync answers the same whichever way it looks for changes: by
// walking the caller's book (many changes since ts) or the changes since ts
// (fewer than half the book). Every ts from before the first change to
// after the last is asked and checked against the changes as made: the
// users changed in or after that second, visible to the caller, oldest
// first.
func TestDeltaPlansAgree(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "a")
	type person struct {
		phone, token string
		visible      bool
	}
	var people []person
	book := []string{"+" + alicePhone, "+12015550390", "+12015550391", "+12015550392", "+12015550393"} // herself and 4 non-users
	for i := range 12 {
		p := fmt.Sprintf("120155503%02d", i)
		people = append(people, person{phone: p, token: e.SignIn(p, "d"), visible: true})
		book = append(book, "+"+p)
	}
	e.GetContacts(t, alice, map[string]any{"phones": strings.Join(book, ",")})
	e.SetProfile(t, people[3].token, map[string]any{"discoverable": "nobody"})
	e.SetProfile(t, people[5].token, map[string]any{"discoverable": "contacts"})
	e.SetProfile(t, people[7].token, map[string]any{"discoverable": "contacts"})
	e.GetContacts(t, people[7].token, map[string]any{"phones": "+" + alicePhone})
	people[3].visible, people[5].visible = false, false

	// Each person changes once more, in a shuffled order, some within one
	// second; alice changes too (never her own contact).
	type change struct {
		who int
		sec int64
	}
	var changes []change
	for i, who := range []int{4, 0, 9, 3, 11, 1, 5, 8, 2, 10, 7, 6} {
		e.Clock.Advance([]time.Duration{time.Second, 300 * time.Millisecond}[i%2])
		e.SetProfile(t, people[who].token, map[string]any{"status": fmt.Sprint("change ", i)})
		changes = append(changes, change{who, e.Clock.Now().Unix()})
		if i == 6 {
			e.SetProfile(t, alice, map[string]any{"status": "alice changed"})
		}
	}
	for ts := changes[0].sec - 1; ts <= changes[len(changes)-1].sec+1; ts++ {
		var want []string
		for _, c := range changes {
			if c.sec >= ts && people[c.who].visible {
				want = append(want, people[c.who].phone)
			}
		}
		got := contactPhones(e.GetContacts(t, alice, map[string]any{"ts": ts}))
		if !slices.Equal(got, want) {
			t.Errorf("ts %d (%d s after the first change): %v, want %v", ts, ts-changes[0].sec, got, want)
		}
	}
}
