package web_test

import (
	"bytes"
	"context"
	"image"
	_ "image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"roster/web/webtest"
)

const chromiumPath = "/usr/bin/chromium"

// browser starts Debian's headless Chromium for one test. Without it the
// test is skipped on a developer's machine, and fails in CI (CI=true), where
// .ci/run installs it.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI must run the browser tests, but %s is missing (apt-get install chromium)", chromiumPath)
		}
		t.Skipf("browser test skipped: %s is not installed (apt-get install chromium; CI installs it)", chromiumPath)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox, // root in containers
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	// A guard against a browser that hangs, far above any test's run: each
	// page is checked four times (light and dark, two widths).
	ctx, cancelTimeout := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	// Accept hx-confirm's confirmation dialogs, as the admin would.
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return ctx
}

// screenshot saves the page and fails when it is blank: a page that
// rendered nothing, or only one color. The pictures go to the directory
// named by ROSTER_SCREENSHOTS (to look at them), else to the test's
// temporary directory: never into the source tree.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := screenshotDir(t)
	if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644); err != nil {
		t.Fatal(err)
	}
	img, _, err := image.Decode(bytes.NewReader(buf))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	colors := map[uint32]bool{}
	var sum, sumSq float64
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colors[(r>>8)<<16|(g>>8)<<8|bl>>8] = true
			l := 0.299*float64(r>>8) + 0.587*float64(g>>8) + 0.114*float64(bl>>8)
			sum += l
			sumSq += l * l
			n++
		}
	}
	mean := sum / float64(n)
	variance := sumSq/float64(n) - mean*mean
	if len(colors) < 8 || variance < 20 {
		t.Errorf("screenshot %s looks blank: %d colors, luminance variance %.1f", name, len(colors), variance)
	}
}

// screenshotDir is ROSTER_SCREENSHOTS (created if need be) or a temporary
// directory removed after the test.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ROSTER_SCREENSHOTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func TestBrowserAdminJourney(t *testing.T) {
	ctx := browser(t)
	e := webtest.NewPeople(t) // no code limits by IP: the journey pages through many codes
	e.NewAdmin("alice", "owner")
	uid, tokA := signedInUser(t, e, webtest.USPhone, "phone-a")
	e.Clock.Advance(time.Minute)
	tokB := e.SignIn(webtest.USPhone, "tablet-b")
	e.Clock.Advance(time.Minute)
	// A French user with a photo and a name to moderate, whom Bob has in
	// his address book (journeyMore).
	frID, frTok := signedInUser(t, e, webtest.FRPhone, "fr-phone")
	e.SetProfile(t, frTok, map[string]any{"name": "Rude name", "status": strings.Repeat("x", 256)}) // a long word must wrap
	e.Server.DB().Write.Exec("UPDATE users SET thumbnail = ? WHERE id = ?", testJPEG(t), frID)
	bobTok := e.SignIn("12015550177", "bob-phone")
	e.GetContacts(t, bobTok, map[string]any{"phones": "+" + webtest.FRPhone})
	base := e.Listen()

	// Signed out: the dashboard sends the browser to the sign-in form.
	do(t, ctx, "open the user list", chromedp.Navigate(base+"/admin/users"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)))
	checkPage(t, ctx, "login")
	if kind, err := chromedp.Run(ctx, chromedp.Evaluate[string](`typeof htmx`)); err != nil || kind != "object" {
		t.Fatalf("htmx did not load under the CSP: %q %v", kind, err)
	}
	do(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-name"]`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-password"]`), webtest.AdminPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="user-search"]`)))
	journeySecondFactor(t, ctx, e, base, "alice")

	do(t, ctx, "overview", chromedp.Navigate(base+"/admin/"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="chart-signups"]`)))
	checkPage(t, ctx, "overview")

	// Find the user by a national-format number.
	do(t, ctx, "search",
		chromedp.Navigate(base+"/admin/users"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="search-q"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="search-q"]`), "(201) 555-0123"),
		chromedp.Click(chromedp.CSS(`[data-testid="search-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="search-note"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="user-link"]`)))
	rows, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll(`[data-testid="user-row"]`)))
	if err != nil || len(rows) != 1 {
		t.Fatalf("search found %d rows (%v)", len(rows), err)
	}
	if got := text(t, ctx, `[data-testid="user-link"]`); got != "+1 201-555-0123" {
		t.Fatalf("found %q", got)
	}
	checkPage(t, ctx, "users")

	// Revoke one session: htmx swaps the answer in place.
	do(t, ctx, "open the user",
		chromedp.Click(chromedp.CSS(`[data-testid="user-link"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="sessions"]`)))
	checkPage(t, ctx, "user")
	do(t, ctx, "revoke phone-a",
		chromedp.Click(`//tr[td/bdi[@data-testid="session-device"][text()="phone-a"]]//button[@data-testid="revoke-session"]`),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="notice"]`)))
	if got := text(t, ctx, `[data-testid="notice"]`); !strings.Contains(got, "Session revoked") {
		t.Fatalf("notice %q", got)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if !strings.HasSuffix(loc, "/admin/users/"+uid) {
		t.Errorf("the revoke was not answered in place by htmx: location %s", loc)
	}
	e.SetNotify(tokA).ExpectFail(t, "AUTHFAIL")
	e.SetNotify(tokB).ExpectOK(t)

	// Resend a code and read it in the outbox.
	do(t, ctx, "resend",
		chromedp.Navigate(base+"/admin/codes"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="resend-phone"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="resend-phone"]`), "(201) 555-0123"),
		chromedp.Click(chromedp.CSS(`[data-testid="resend-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="notice"]`)))
	if got := text(t, ctx, `[data-testid="notice"]`); !strings.Contains(got, "sent via console, valid 5 min, 5 tries left") {
		t.Fatalf("resend notice %q", got)
	}
	checkPage(t, ctx, "codes")
	code := e.LastCode("+12015550123")
	do(t, ctx, "outbox", chromedp.Navigate(base+"/admin/outbox"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="outbox-row"]`)))
	if got := text(t, ctx, `[data-testid="outbox-body"]`); !strings.HasPrefix(got, code+" ") {
		t.Errorf("newest outbox message %q lacks the resent code", got)
	}
	checkPage(t, ctx, "outbox")

	// Block the user: a wrong password is refused in place (htmx swaps the
	// 403 answer too), then the right one blocks and every session goes.
	// Each answer shows by the form, far down the page, and has the focus.
	do(t, ctx, "open the user to block",
		chromedp.Navigate(base+"/admin/users/"+uid),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="block-password"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="block-password"]`), "not my password"))
	actInPlace(t, ctx, "block with a wrong password", `[data-testid="notice-error"]`,
		chromedp.Click(chromedp.CSS(`[data-testid="block"]`)))
	if got := text(t, ctx, `[data-testid="notice-error"]`); got != "Your password or authenticator code was wrong: nothing was changed." { // alice has two-factor sign-in
		t.Fatalf("error notice %q", got)
	}
	e.SetNotify(tokB).ExpectOK(t)
	do(t, ctx, "type the password", chromedp.SendKeys(chromedp.CSS(`[data-testid="block-password"]`), webtest.AdminPassword))
	actInPlace(t, ctx, "block", `[data-testid="notice"]`, chromedp.Click(chromedp.CSS(`[data-testid="block"]`)))
	if got := text(t, ctx, `[data-testid="notice"]`); !strings.Contains(got, "User blocked") {
		t.Fatalf("block notice %q", got)
	}
	e.SetNotify(tokB).ExpectFail(t, "AUTHFAIL")
	checkPage(t, ctx, "user-blocked")
	actInPlace(t, ctx, "unblock", `[data-testid="notice"]`, chromedp.Click(chromedp.CSS(`[data-testid="unblock"]`)))
	if got := text(t, ctx, `[data-testid="notice"]`); !strings.Contains(got, "nblocked") {
		t.Errorf("unblock notice %q", got)
	}

	do(t, ctx, "audit", chromedp.Navigate(base+"/admin/audit"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="audit-table"]`)))
	checkPage(t, ctx, "audit")
	do(t, ctx, "settings", chromedp.Navigate(base+"/admin/settings"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="settings-server"]`)))
	checkPage(t, ctx, "settings")

	journeySupport(t, ctx, e, base, frID, bobTok)
	journeyMore(t, ctx, e, base, uid, frID, bobTok)

	// After the idle timeout an htmx action lands on the sign-in form
	// (HX-Redirect), not a sign-in form swapped into the page.
	do(t, ctx, "open the user again", chromedp.Navigate(base+"/admin/users/"+uid), chromedp.WaitVisible(chromedp.CSS(`[data-testid="resend-code"]`)))
	e.Clock.Advance(31 * time.Minute)
	do(t, ctx, "act after the idle timeout",
		chromedp.Click(chromedp.CSS(`[data-testid="resend-code"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.Contains(loc, "/admin/login") || !strings.Contains(loc, "expired=1") {
		t.Errorf("after the idle timeout the browser is at %s", loc)
	}
	if got := text(t, ctx, `[data-testid="login-info"]`); !strings.Contains(got, "session expired") {
		t.Errorf("the sign-in form says %q", got)
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_resend_code'"); n != 1 {
		t.Errorf("an action ran on an expired session (%d resends)", n)
	}
}
