package web_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"roster/models"
	"roster/models/pgtest"
	"roster/web"
	"roster/web/webtest"
)

// Contact sync and the fan-out on two instances of one PostgreSQL database:
// writes of one address book take turns (the owner's row is locked), and
// each chunk of a fan-out is claimed by one instance. Each test races many
// requests at once over both instances and checks an outcome that only a
// serial order of them can give; without the lock or the claim they fail
// (tried by taking each out).

// contactHash hashes a number as clusterKeys' contacts key does.
func contactHash(e164 string) []byte {
	return models.NewPhoneHasher(bytes.Repeat([]byte{0x22}, 32)).Hash(e164)
}

// someNumbers returns n distinct E.164 numbers, from the first-th on.
func someNumbers(first, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("+1303%07d", first+i)
	}
	return out
}

// hexHashes are the numbers' hashes as PostgreSQL's encode(…, 'hex') writes them.
func hexHashes(numbers []string) []string {
	out := make([]string, len(numbers))
	for i, n := range numbers {
		out[i] = hex.EncodeToString(contactHash(n))
	}
	return out
}

// signInMany signs n users in on e, returning their tokens.
func signInMany(e *webtest.Env, n int) []string {
	toks := make([]string, n)
	for i := range toks {
		toks[i] = e.SignIn(fmt.Sprintf("1201666%04d", i), "d")
	}
	return toks
}

// contactsOp sends a contacts op (getcontacts, delcontacts) from a
// goroutine of the test: it reports, never stops the test.
func contactsOp(t *testing.T, e *webtest.Env, op, token string, numbers []string, extra map[string]any) *webtest.Response {
	p := map[string]any{"op": op, "token": token, "phones": strings.Join(numbers, ",")}
	for k, v := range extra {
		p[k] = v
	}
	r := e.JSON(p)
	if r.String("result") != "OK" && r.String("error") != "RATELIMIT" {
		t.Errorf("%s: %s", op, r.Body)
	}
	return r
}

// The allowance of never-seen numbers holds across instances: 20 uploads
// of 20 new numbers each, at once over both instances, against an
// allowance of 100 (and no refill): exactly 5 pass and 100 numbers are
// stored. Without the lock each instance read the same tokens left and
// spent them again.
func TestContactsAllowanceAcrossInstances(t *testing.T) {
	a, b, _, _ := twoInstances(t, "--contacts-allowance", "100", "--contacts-refill-per-day", "0")
	tok := a.SignIn("12015550101", "a")
	var mu sync.Mutex
	answers := map[string]int{}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			r := contactsOp(t, []*webtest.Env{a, b}[i%2], "getcontacts", tok, someNumbers(20*i, 20), nil)
			answer := r.String("result")
			if answer != "OK" {
				answer = r.String("error")
			}
			mu.Lock()
			answers[answer]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if answers["OK"] != 5 || answers["RATELIMIT"] != 15 {
		t.Errorf("20 uploads of 20 new numbers against an allowance of 100: %v, want 5 OK and 15 RATELIMIT", answers)
	}
	if n := a.Count("SELECT COUNT(*) FROM address_book"); n != 100 {
		t.Errorf("%d numbers stored, want the allowance's 100", n)
	}
}

// A deletion on one instance racing the other's flush of sync records:
// the flush stores the digest of a list a re-sync found all in the book
// only if it still is. Without the lock, B deleted a number after A's
// flush had checked the list and before it committed (B's forgetting of
// the lists did not see A's digest yet): the list was then "known", and
// its next re-sync did not store the deleted number again. Both instances
// also hold records of syncs, which must all be written, once.
func TestContactDeletionsAcrossInstances(t *testing.T) {
	a, b, _, _ := twoInstances(t)
	const users, size, half = 40, 10, 5
	toks := signInMany(a, users)
	lists := make([][]string, users)
	for i := range lists {
		lists[i] = someNumbers(size*i, size)
		a.GetContacts(t, toks[i], map[string]any{"phones": strings.Join(lists[i], ",")})
	}
	syncs := users
	// Each first half, all in its book: both instances queue its digest
	// (and a record) for their next flush.
	for _, e := range []*webtest.Env{a, b} {
		for i := range lists {
			e.GetContacts(t, toks[i], map[string]any{"phones": strings.Join(lists[i][:half], ",")})
			syncs++
		}
	}
	var wg sync.WaitGroup
	for _, e := range []*webtest.Env{a, b} {
		wg.Go(func() {
			if _, err := e.Server.Contacts().FlushSyncs(t.Context()); err != nil {
				t.Errorf("flush: %v", err)
			}
		})
	}
	for i := range lists {
		wg.Go(func() { contactsOp(t, []*webtest.Env{b, a}[i%2], "delcontacts", toks[i], lists[i][:1], nil) })
		syncs++
	}
	wg.Wait()
	// The first halves again: each deleted number is stored again, unless
	// a digest claims its list is all there.
	for i := range lists {
		a.GetContacts(t, toks[i], map[string]any{"phones": strings.Join(lists[i][:half], ",")})
		syncs++
	}
	if n := a.Count("SELECT COUNT(*) FROM address_book"); n != users*size {
		t.Errorf("%d numbers in the books, want %d: a digest outlived a deletion", n, users*size)
	}
	b.Count("SELECT 1") // B's queue, written
	if n := a.Count("SELECT COUNT(*) FROM contact_syncs"); n != int64(syncs) {
		t.Errorf("%d sync records, want %d", n, syncs)
	}
}

// A reset on A racing an upload of new numbers on B: whichever goes first,
// the new numbers end in the book or in what the reset remembers (so that
// sending them again costs no allowance). Without the lock the upload could
// commit between the reset's copy of the book into its memory and its
// emptying of the book: the numbers were deleted unremembered. (The window
// is the copy of a book of 1,000 numbers; three rounds of 20 users.)
func TestContactResetAcrossInstances(t *testing.T) {
	a, b, _, _ := twoInstances(t)
	const users, book, added, rounds = 20, 1000, 10, 3
	toks := signInMany(a, users)
	books := make([][]string, users)
	for i := range books {
		books[i] = someNumbers((book+rounds*added)*i, book)
	}
	for round := range rounds {
		// Each book full again (after the first round, from the reset's
		// memory: no allowance spent).
		for i := range books {
			a.GetContacts(t, toks[i], map[string]any{"phones": strings.Join(books[i], ",")})
		}
		var wg sync.WaitGroup
		var fresh []string
		for i := range books {
			news := someNumbers((book+rounds*added)*i+book+round*added, added)
			fresh = append(fresh, news...)
			wg.Go(func() { contactsOp(t, a, "getcontacts", toks[i], books[i][:10], map[string]any{"reset": 1}) })
			wg.Go(func() { contactsOp(t, b, "getcontacts", toks[i], news, nil) })
		}
		wg.Wait()
		n := a.Count(`SELECT COUNT(*) FROM (SELECT owner_id, contact_hash FROM address_book
			UNION SELECT owner_id, contact_hash FROM address_book_reset) kept WHERE encode(contact_hash, 'hex') IN ?`, hexHashes(fresh))
		if n != int64(len(fresh)) {
			t.Errorf("round %d: %d of %d numbers uploaded during a reset are in the book or the reset's memory", round, n, len(fresh))
		}
	}
}

// A join notice (mesibo mode: one outbox message per recipient, written
// with the chunk's deliveries) is queued once per address book holding the
// number, though both instances fan the join out at once.
func TestJoinNoticesOnceAcrossInstances(t *testing.T) {
	fake := webtest.NewFakeMesibo(t, mesiboAppToken)
	url := pgtest.Fresh(t)
	start := func() *webtest.Env {
		db, err := models.OpenPostgres(t.Context(), url, models.PostgresPool{MaxOpen: 8, MaxIdle: 8}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		getenv := func(k string) string {
			if k == "ROSTER_MESIBO_APP_TOKEN" {
				return mesiboAppToken
			}
			return clusterKeys(k)
		}
		return webtest.New(t, webtest.WithArgs(append([]string{"--otp-ip-hourly", "0", "--otp-ip-daily", "0", "--fanout-chunk", "50"},
			mesiboArgs(fake)...)...), func(_ *web.Config, o *web.Options) { o.Database, o.Getenv = db, getenv })
	}
	a, b := start(), start()
	const books = 3000
	bobHash := contactHash("+12015550102")
	db := a.Server.DB().Write
	if err := db.Exec(`INSERT INTO users (phone, country_code, created_at, profile_at)
		SELECT '+1999' || lpad(i::text, 7, '0'), 1, 0, 0 FROM generate_series(1, ?) AS i`, books).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(`INSERT INTO address_book (owner_id, contact_hash)
		SELECT id, ? FROM users WHERE phone LIKE '+1999%'`, bobHash).Error; err != nil {
		t.Fatal(err)
	}
	if r := signInMesibo(t, a, "12015550102", "b"); r.String("result") != "OK" { // Bob joins
		t.Fatalf("Bob signs in: %s", r.Body)
	}
	fanOutAtOnce(t, a, b, a, b)
	if n := a.Count("SELECT COUNT(*) FROM outbox WHERE kind = ?", models.OutboxKindMesiboNotice); n != books {
		t.Errorf("%d join notices queued, want one for each of the %d books", n, books)
	}
	if n := a.Count("SELECT COUNT(DISTINCT recipient) FROM outbox WHERE kind = ?", models.OutboxKindMesiboNotice); n != books {
		t.Errorf("join notices to %d recipients, want %d", n, books)
	}
}
