package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"roster/web"
	"roster/web/delivery"
	"roster/web/webtest"
)

// askCodes asks for a code for each of n numbers +1 201 555 01xx from
// first on (each number once: no quota gets in the way).
func askCodes(t *testing.T, e *webtest.Env, first, n int) {
	t.Helper()
	for i := first; i < first+n; i++ {
		e.JSON(map[string]any{"op": "login", "appid": "a", "phone": fmt.Sprintf("120155501%02d", i)}).ExpectOK(t)
	}
}

// shownPhones are the numbers of the code rows of a codes page, in order.
func shownPhones(t *testing.T, r *webtest.Response) []string {
	t.Helper()
	var out []string
	r.HTML(t).Find(`[data-testid="code-row"]`).Each(func(_ int, s *goquery.Selection) {
		out = append(out, strings.TrimSpace(s.Find("td").First().Text()))
	})
	return out
}

func follow(t *testing.T, a *webtest.AdminClient, r *webtest.Response, testID string) *webtest.Response {
	t.Helper()
	href, ok := r.TestID(t, testID).Attr("href")
	if !ok {
		t.Fatalf("no %s link: %.3000s", testID, r.Body)
	}
	return a.Get(href)
}

// Paging back through the codes while new ones arrive: each page follows
// the last one shown, none is shown twice and none is skipped; paging
// forward again gives the same pages.
func TestCodesKeysetPaging(t *testing.T) {
	e := webtest.NewPeople(t)
	askCodes(t, e, 0, 30)
	a := e.AdminLogin("vera", "viewer")
	first := a.Get("/admin/codes?size=25")
	page1 := shownPhones(t, first)
	if len(page1) != 25 || first.CountTestID(t, "newer-page") != 0 {
		t.Fatalf("first page: %d codes, newer link %d", len(page1), first.CountTestID(t, "newer-page"))
	}
	askCodes(t, e, 30, 5) // newer codes while the admin pages back
	second := follow(t, a, first, "older-page")
	page2 := shownPhones(t, second)
	if len(page2) != 5 || second.CountTestID(t, "older-page") != 0 {
		t.Fatalf("second page: %d codes, older link %d", len(page2), second.CountTestID(t, "older-page"))
	}
	seen := map[string]bool{}
	for _, p := range append(slices.Clone(page1), page2...) {
		if seen[p] {
			t.Errorf("%s shown twice", p)
		}
		seen[p] = true
	}
	if len(seen) != 30 {
		t.Errorf("the two pages show %d of the 30 codes there were", len(seen))
	}
	back := follow(t, a, second, "newer-page")
	if got := shownPhones(t, back); !slices.Equal(got, page1) {
		t.Errorf("paging forward again shows %v, want the first page %v", got, page1)
	}
	if back.CountTestID(t, "newer-page") != 1 || back.CountTestID(t, "newest-page") != 1 {
		t.Error("the page before the five new codes has no link to them")
	}
	newest := follow(t, a, back, "newer-page")
	if got := shownPhones(t, newest); len(got) != 5 || newest.CountTestID(t, "newer-page") != 0 {
		t.Errorf("the newest codes: %v", got)
	}
	// The page keeps its filter, size and place in every link.
	if href, _ := second.TestID(t, "newer-page").Attr("href"); !strings.Contains(href, "size=25") {
		t.Errorf("the newer link %q drops the page size", href)
	}
}

// The codes page filters by channel and shows it; a channel or cursor it
// cannot use is named, not ignored in silence.
func TestCodesChannelFilter(t *testing.T) {
	e := webtest.NewPeople(t)
	askCodes(t, e, 0, 3)
	a := e.AdminLogin("vera", "viewer")
	r := a.Get("/admin/codes?channel=console")
	if n := r.CountTestID(t, "code-row"); n != 3 || r.TestIDText(t, "code-channel") != "console" || r.TestIDText(t, "codes-total") != "3 code requests" {
		t.Errorf("console: %d rows, channel %q, total %q", n, r.TestIDText(t, "code-channel"), r.TestIDText(t, "codes-total"))
	}
	if v, _ := r.HTML(t).Find(`[data-testid="filter-channel"] option[selected]`).Attr("value"); v != "console" {
		t.Errorf("the channel select shows %q", v)
	}
	r = a.Get("/admin/codes?channel=twilio")
	if n := r.CountTestID(t, "code-row"); n != 0 || r.TestIDText(t, "codes-total") != "0 code requests" {
		t.Errorf("twilio: %d rows", n)
	}
	r = a.Get("/admin/codes?channel=pigeon&before=x&size=7")
	if n := r.CountTestID(t, "code-row"); n != 3 {
		t.Errorf("an unknown channel: %d rows, want all 3", n)
	}
	want := "Ignored: size=“7” (25, 50, 100, 200); before=“x” (a page link's row number; showing the newest page); channel=“pigeon” (console, twilio, webhook, smtp, whatsapp, voice, mesibo, fcm, apns)."
	if got := r.TestIDText(t, "notice-error"); got != want {
		t.Errorf("notice %q\nwant %q", got, want)
	}
}

// Each delivery attempt of a code's message is on its page, with every
// field recorded: time, status, HTTP status, provider id, duration and the
// error; the codes page links to it. The text is not shown with a real
// channel.
func TestCodeDeliveryAttemptsShown(t *testing.T) {
	const sid = "AC0123456789abcdef0123456789abcdef"
	fake := webtest.NewFakeHTTP(t, webtest.Reply{Status: http.StatusServiceUnavailable, Body: `{"code":20503,"message":"busy"}`},
		webtest.Reply{Status: http.StatusCreated, Body: `{"sid":"SM1234567890abcdef1234567890abcdef","status":"queued"}`})
	e := webtest.New(t, webtest.WithArgs("--otp-channel", "twilio", "--twilio-base-url", fake.URL, "--twilio-account-sid", sid,
		"--twilio-from", "+15005550006"), webtest.WithOptions(func(o *web.Options) {
		o.Getenv = func(k string) string {
			if k == "ROSTER_TWILIO_AUTH_TOKEN" {
				return "twilio-auth-token-secret"
			}
			return ""
		}
		o.Worker = delivery.WorkerConfig{Poll: time.Second, SendTimeout: time.Second, MaxAttempts: 3, BaseBackoff: 2 * time.Second, MaxBackoff: 10 * time.Second}
	}))
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	e.Clock.Advance(time.Minute)
	e.Server.Worker().RunOnce(context.Background())
	a := e.AdminLogin("olga", "operator")
	codes := a.Get("/admin/codes?channel=twilio")
	if codes.TestIDText(t, "code-channel") != "twilio" {
		t.Errorf("channel %q", codes.TestIDText(t, "code-channel"))
	}
	r := follow(t, a, codes, "code-attempts")
	expectStatus(t, r, http.StatusOK)
	rows := r.HTML(t).Find(`[data-testid="attempt-row"]`)
	if rows.Length() != 2 {
		t.Fatalf("%d attempts shown, want 2: %.3000s", rows.Length(), r.Body)
	}
	cells := func(i int) string {
		var out []string
		rows.Eq(i).Find("td").Each(func(_ int, s *goquery.Selection) { out = append(out, strings.Join(strings.Fields(s.Text()), " ")) })
		return strings.Join(out, " | ")
	}
	if got := cells(0); !strings.HasPrefix(got, "1 | ") || !strings.Contains(got, " | twilio | retry | 503 | ") || !strings.Contains(got, " ms | ") {
		t.Errorf("first attempt: %s", got)
	}
	if got := cells(1); !strings.HasPrefix(got, "2 | ") || !strings.Contains(got, " | twilio | sent | 201 | SM1234567890abcdef1234567890abcdef | ") {
		t.Errorf("second attempt: %s", got)
	}
	var errText string
	e.Server.DB().Read.Raw("SELECT error FROM outbox_attempts ORDER BY id LIMIT 1").Scan(&errText)
	if errText == "" || !strings.Contains(cells(0), strings.Join(strings.Fields(errText), " ")) {
		t.Errorf("the first attempt's error %q is not shown: %s", errText, cells(0))
	}
	if r.CountTestID(t, "message-body") != 0 || r.CountTestID(t, "message-body-hidden") != 1 {
		t.Error("a real channel's text is shown")
	}
	expectStatus(t, a.Get("/admin/outbox/999999"), http.StatusNotFound)
	expectStatus(t, a.Get("/admin/outbox/x"), http.StatusNotFound)
}
