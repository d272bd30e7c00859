package handlers_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"roster/web/webtest"
)

// uploadContacts sends an app's address book (getcontacts with phones).
func uploadContacts(t testing.TB, e *webtest.Env, token, phones string) {
	t.Helper()
	e.JSON(map[string]any{"op": "getcontacts", "token": token, "phones": phones}).ExpectOK(t)
}

// The dashboard shows what contact sync really stored: the address book,
// matched users, who has this user, recent syncs and the notices sent.
func TestDashboardShowsContactSync(t *testing.T) {
	// No IP quota: several people sign in from the test's one address.
	e := webtest.New(t, webtest.WithArgs("--otp-ip-hourly", "0", "--otp-ip-daily", "0"))
	alice := e.SignIn(alicePhone, "a")
	e.Clock.Advance(time.Minute)
	bob := e.SignIn(bobPhone, "b")
	uploadContacts(t, e, alice, "+"+bobPhone+",+12015550177,(201) 555-0178")
	uploadContacts(t, e, bob, "+"+alicePhone)
	e.Clock.Advance(time.Minute)
	e.SignIn(erinPhone, "e") // joins: nobody has the number, but the notice is recorded
	var aliceID, bobID, erinID string
	e.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM users WHERE phone = ?", "+"+alicePhone).Scan(&aliceID)
	e.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM users WHERE phone = ?", "+"+bobPhone).Scan(&bobID)
	e.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM users WHERE phone = ?", "+"+erinPhone).Scan(&erinID)
	// A name is shown escaped in the links too.
	e.Server.DB().Write.Exec("UPDATE users SET name = '<b>Bob</b>' WHERE id = ?", bobID)

	a := e.AdminLogin("alice", "viewer")
	list := a.Get("/admin/users")
	// The list's contacts column: Alice stored three numbers, Bob one.
	contacts := map[string]string{}
	list.TestID(t, "user-row").Each(func(_ int, row *goquery.Selection) {
		contacts[row.Find(webtest.TestIDSelector("user-link")).Find(".phone").AttrOr("data-e164", "")] = strings.TrimSpace(row.Find(webtest.TestIDSelector("user-contacts")).Text())
	})
	if contacts["+"+alicePhone] != "3" || contacts["+"+bobPhone] != "1" || contacts["+"+erinPhone] != "0" {
		t.Errorf("contacts column %v", contacts)
	}
	page := a.Get("/admin/users/" + aliceID)
	// Three numbers stored, Bob matched (a link to his page), and Bob has Alice's number.
	if got := page.TestIDText(t, "sync-numbers"); got != "3" {
		t.Errorf("numbers stored %q, want 3", got)
	}
	bobLinks := page.HTML(t).Find(`a[href="/admin/users/` + bobID + `"]`)
	if n := bobLinks.Length(); n < 2 {
		t.Errorf("Bob should appear as matched and as having Alice's number; %d links", n)
	}
	expectIn(t, page, "+"+bobPhone, "&lt;b&gt;Bob&lt;/b&gt;", "joined")
	if n := page.CountTestID(t, "sync-run"); n != 1 {
		t.Errorf("%d recent syncs, want 1", n)
	}
	expectIn(t, page, " ms")

	erin := a.Get("/admin/users/" + erinID)
	expectIn(t, erin, "Nobody has this number", "joined")
	if n := erin.CountTestID(t, "event-row"); n != 1 {
		t.Errorf("%d events about Erin, want 1 (joined)", n)
	}

	over := a.Get("/admin/")
	if got := strings.TrimSpace(over.TestID(t, "stat-syncs").Find(".stat-value").Text()); got != "2" {
		t.Errorf("syncs today %q, want 2", got)
	}
	if got := over.TestID(t, "chart-syncs").Find("p.muted").First().Text(); !strings.HasPrefix(got, strconv.Itoa(2)+" in total") {
		t.Errorf("sync chart says %q", got)
	}
}

// User text is isolated and its invisible characters are shown: a name
// with a right-to-left override cannot pass for another. A thumbnail that
// the server made is shown (templ's sanitizer refuses data: URLs unless
// marked); anything else stored there is not put in the page.
func TestUserTextAndThumbnail(t *testing.T) {
	e := webtest.New(t)
	uid, _ := e.SignedInUser(webtest.USPhone, "phone-a")
	var jpg bytes.Buffer
	if err := jpeg.Encode(&jpg, image.NewRGBA(image.Rect(0, 0, 4, 4)), nil); err != nil {
		t.Fatal(err)
	}
	e.Server.DB().Write.Exec("UPDATE users SET name = ?, status = ?, thumbnail = ? WHERE id = ?",
		"Admin\u202etroppus", strings.Repeat("x", 256), base64.StdEncoding.EncodeToString(jpg.Bytes()), uid)
	a := e.AdminLogin("alice", "viewer")
	page := a.Get("/admin/users/" + uid)
	if got := page.TestIDText(t, "profile-name"); got != "Admin[U+202E]troppus" {
		t.Errorf("name shown as %q", got)
	}
	if strings.Contains(body(page), "\u202e") {
		t.Error("the override character is in the page")
	}
	if dir, _ := page.TestID(t, "profile-status").Attr("dir"); dir != "auto" {
		t.Errorf("status not isolated: dir=%q", dir)
	}
	src, _ := page.TestID(t, "avatar").Attr("src")
	if !strings.HasPrefix(src, "data:image/jpeg;base64,/9j/") {
		t.Errorf("thumbnail src %.60q", src)
	}
	expectIn(t, a.Get("/admin/users?q=Admin"), "Admin<span")

	e.Server.DB().Write.Exec("UPDATE users SET thumbnail = ? WHERE id = ?", base64.StdEncoding.EncodeToString([]byte("<svg onload=alert(1)>")), uid)
	if n := a.Get("/admin/users/"+uid).CountTestID(t, "avatar"); n != 0 {
		t.Error("a thumbnail that is not a JPEG is shown")
	}
}

// Characters that draw nothing make a name look empty, or like another
// name: each is marked. Emoji sequences keep their joiners and selectors;
// the same characters elsewhere are marked.
func TestBlankLookingNameCharactersAreMarked(t *testing.T) {
	e := webtest.New(t)
	uid, _ := e.SignedInUser(webtest.USPhone, "phone-a")
	a := e.AdminLogin("alice", "viewer")
	for _, c := range []struct{ name, shown string }{
		{"\u3164", "[U+3164]"},                               // HANGUL FILLER
		{"\u115f\u1160", "[U+115F][U+1160]"},                 // HANGUL CHOSEONG and JUNGSEONG FILLER
		{"\uffa0", "[U+FFA0]"},                               // HALFWIDTH HANGUL FILLER
		{"\u2800\u2800", "[U+2800][U+2800]"},                 // BRAILLE PATTERN BLANK
		{"Ad\u034fmin", "Ad[U+034F]min"},                     // COMBINING GRAPHEME JOINER
		{"Bob\u3000Smith\u00a0", "Bob[U+3000]Smith[U+00A0]"}, // spaces other than U+0020
		{"Ann\ufe00\u180e", "Ann[U+FE00][U+180E]"},           // a variation selector, MONGOLIAN VOWEL SEPARATOR
		{"ad\u200dmin\ufe0f", "ad[U+200D]min[U+FE0F]"},       // emoji glue between letters
		{"\u200d\u200d", "[U+200D][U+200D]"},                 // joiners alone
		{"Mum 👩\u200d👩\u200d👧 ❤\ufe0f\u200d🔥", "Mum 👩\u200d👩\u200d👧 ❤\ufe0f\u200d🔥"}, // emoji sequences
		{"Zoë Martín", "Zoë Martín"},
	} {
		e.Server.DB().Write.Exec("UPDATE users SET name = ? WHERE id = ?", c.name, uid)
		page := a.Get("/admin/users/" + uid)
		if got := page.TestIDText(t, "profile-name"); got != c.shown {
			t.Errorf("%+q shown as %+q, want %+q", c.name, got, c.shown)
		}
	}
}

// The device type (the protocol's dt) and the user agent are the client's
// words: their bidi controls and invisible characters are marked, in the
// cell and in the tooltip, and never reach the page.
func TestSessionDeviceTypeAndUserAgentShownVisibly(t *testing.T) {
	e := webtest.New(t)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	p := webtest.LoginParams(webtest.USPhone)
	p["otp"], p["device"], p["dt"] = e.LastCode("+"+webtest.USPhone), "phone-a", "android\u202eSOI\u3164"
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Messenger/2.0 \u2067kcilc\u2069\u2800")
	e.Do(req).ExpectOK(t)
	var uid string
	e.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM users WHERE phone = ?", "+"+webtest.USPhone).Scan(&uid)
	page := e.AdminLogin("alice", "viewer").Get("/admin/users/" + uid)
	if got := page.TestIDText(t, "session-device-type"); got != "android[U+202E]SOI[U+3164]" {
		t.Errorf("device type shown as %q", got)
	}
	const ua = "Messenger/2.0 [U+2067]kcilc[U+2069][U+2800]"
	if got := page.TestIDText(t, "session-user-agent"); got != ua {
		t.Errorf("user agent shown as %q", got)
	}
	if got, _ := page.HTML(t).Find("td.ua").Attr("title"); got != ua {
		t.Errorf("user agent tooltip %q", got)
	}
	for _, hidden := range []string{"\u202e", "\u3164", "\u2067", "\u2069", "\u2800"} {
		if strings.Contains(body(page), hidden) {
			t.Errorf("%+q is in the page", hidden)
		}
	}
}

// Matched users and who has this user: counts, the first rows on the user
// page, every row through "show all" in keyset pages.
func TestUserContactGraphPages(t *testing.T) {
	e := webtest.New(t, webtest.WithArgs("--otp-ip-hourly", "0", "--otp-ip-daily", "0"))
	alice := e.SignIn(alicePhone, "a")
	var phones []string
	for i := range 60 {
		p := "1202555" + pad4(i)
		e.Server.DB().Write.Exec("INSERT INTO users (phone, country_code, name, created_at, profile_at) VALUES (?, 1, ?, 1, 1)", "+"+p, "Friend "+itoa(i))
		phones = append(phones, "+"+p)
	}
	if _, err := e.Server.Contacts().BackfillHashes(context.Background()); err != nil { // as at start-up, for users inserted by hand
		t.Fatal(err)
	}
	uploadContacts(t, e, alice, strings.Join(phones, ","))
	var aliceID string
	e.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM users WHERE phone = ?", "+"+alicePhone).Scan(&aliceID)
	a := e.AdminLogin("alice", "viewer")
	page := a.Get("/admin/users/" + aliceID)
	matched := page.TestIDText(t, "matched-count")
	if matched != "60" {
		t.Errorf("matched count %q, want 60", matched)
	}
	if n := page.CountTestID(t, "matched-row"); n != 10 {
		t.Errorf("%d matched rows on the user page, want 10", n)
	}
	all, _ := page.TestID(t, "matched-all").Attr("href")
	p1 := a.Get(all)
	expectStatus(t, p1, http.StatusOK)
	if got := p1.TestIDText(t, "contacts-count"); got != "60" {
		t.Errorf("count %q", got)
	}
	next, _ := p1.TestID(t, "next-page").Attr("href")
	p2 := a.Get(next)
	if n1, n2 := p1.CountTestID(t, "matched-row"), p2.CountTestID(t, "matched-row"); n1 != 50 || n2 != 10 || p2.CountTestID(t, "next-page") != 0 {
		t.Errorf("pages of %d and %d", n1, n2)
	}
	expectStatus(t, a.Get("/admin/users/999/have"), http.StatusNotFound)
}

// A user without codes on record is told apart from one who never asked:
// codes older than the retention are pruned, and the page says so.
func TestUserPageSaysOldCodesArePruned(t *testing.T) {
	e := webtest.New(t)
	e.Server.DB().Write.Exec("INSERT INTO users (phone, country_code, created_at, profile_at) VALUES ('+12015550177', 1, 1, 1)")
	var id string
	e.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM users WHERE phone = '+12015550177'").Scan(&id)
	r := e.AdminLogin("alice", "viewer").Get("/admin/users/" + id)
	if got := r.TestIDText(t, "codes-empty"); got != "No code on record for this number: codes are kept for 30 days, older ones are pruned." {
		t.Errorf("codes-empty says %q", got)
	}
}

// The sessions table names the platform from the app's user agent beside
// the bare dt number the apps send.
func TestSessionPlatformWorded(t *testing.T) {
	e := webtest.New(t)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	p := webtest.LoginParams(webtest.USPhone)
	p["otp"], p["device"], p["dt"] = e.LastCode("+"+webtest.USPhone), "phone-a", "1"
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "okhttp/4.12.0")
	e.Do(req).ExpectOK(t)
	var uid string
	e.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM users WHERE phone = ?", "+"+webtest.USPhone).Scan(&uid)
	page := e.AdminLogin("alice", "viewer").Get("/admin/users/" + uid)
	if got := page.TestIDText(t, "session-platform"); got != "Android" {
		t.Errorf("platform %q", got)
	}
	if got := page.TestIDText(t, "session-device-type"); got != "1" {
		t.Errorf("dt %q", got)
	}
	expectIn(t, page, "<th>Platform (the app's dt)</th>")
}
