package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/jpeg"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"roster/web/webtest"
)

// journeyMore is the second half of the admin journey (signed in as owner
// alice): the photo shown, '/' to search, a bulk revoke, a moderation edit
// that the API then serves, and an admin created who signs in.
// It ends signed in as that new operator.
func journeyMore(t *testing.T, ctx context.Context, e *webtest.Env, base, uid, frID, bobToken string) {
	t.Helper()
	do(t, ctx, "user page with a photo", chromedp.Navigate(base+"/admin/users/"+frID), chromedp.WaitVisible(chromedp.CSS(`[data-testid="avatar"]`)))
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const i = document.querySelector('[data-testid="avatar"]'); return i.complete && i.naturalWidth > 0 })()`))
	if err != nil || !loaded {
		t.Errorf("the profile photo did not load (%v)", err)
	}
	checkPage(t, ctx, "user-photo")

	// "/" focuses the search box.
	do(t, ctx, "users", chromedp.Navigate(base+"/admin/users"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="users-table"]`)),
		chromedp.KeyEvent("/"))
	if focused, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.activeElement === document.querySelector('[data-testid="search-q"]')`)); !focused {
		t.Error(`"/" did not focus the search box`)
	}

	// Bulk: the header box selects the page and the summary counts; then
	// sign the French user out everywhere.
	do(t, ctx, "select all", chromedp.Click(chromedp.CSS(`[data-testid="select-all"]`)))
	all, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="select-user"]:checked').length`))
	rows, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="select-user"]').length`))
	if all != rows || rows < 2 {
		t.Errorf("select all ticked %d of %d users", all, rows)
	}
	if got := text(t, ctx, `[data-testid="selected-count"]`); got != fmt.Sprintf("(%d selected)", rows) {
		t.Errorf("after select all, the count says %q", got)
	}
	do(t, ctx, "select none", chromedp.Click(chromedp.CSS(`[data-testid="select-all"]`)),
		chromedp.Click(chromedp.CSS(`input[data-testid="select-user"][value="`+frID+`"]`)))
	if got := text(t, ctx, `[data-testid="selected-count"]`); got != "(1 selected)" {
		t.Errorf("with one user ticked, the count says %q", got)
	}
	do(t, ctx, "bulk revoke",
		chromedp.Click(chromedp.CSS(`[data-testid="bulk"] summary`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="bulk-password"]`), webtest.AdminPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="bulk-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="notice"]`)))
	if got := text(t, ctx, `[data-testid="notice"]`); !strings.Contains(got, "Signed out 1 user everywhere") {
		t.Errorf("bulk notice %q", got)
	}
	if n := e.Count("SELECT COUNT(*) FROM sessions WHERE user_id = ? AND revoked_at IS NULL", frID); n != 0 {
		t.Errorf("%d live sessions left after the bulk revoke", n)
	}
	checkPage(t, ctx, "users-bulk")

	// Moderation: clear the name; Bob's app then gets the cleared name.
	do(t, ctx, "moderate",
		chromedp.Navigate(base+"/admin/users/"+frID),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="moderate-form"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="clear-name"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="moderate-password"]`), webtest.AdminPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="moderate"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="notice"]`)))
	got := e.GetContacts(t, bobToken, map[string]any{"phones": "+" + webtest.FRPhone})
	if len(got.Contacts) != 1 || got.Contacts[0].Name != "" {
		t.Errorf("after moderation getcontacts returns %+v", got.Contacts)
	}

	// Pages not visited so far.
	for _, p := range []struct{ name, path, wait string }{
		{"matched", "/admin/users/" + frID + "/have", `[data-testid="contacts-count"]`},
		{"account", "/admin/account", `[data-testid="password-form"]`},
		{"admin-detail", "/admin/admins/2", `[data-testid="admin-sessions"]`}, // alice (1 is the first owner)
		{"fraud", "/admin/fraud", `[data-testid="fraud-countries"]`},
		{"admins", "/admin/admins", `[data-testid="admins-table"]`}, // the last: an admin is created on it next
	} {
		do(t, ctx, p.name, chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.CSS(p.wait)))
		checkPage(t, ctx, p.name)
	}

	// An owner creates an operator, who signs in with the password shown once.
	do(t, ctx, "create an admin",
		chromedp.SendKeys(chromedp.CSS(`[data-testid="new-admin-name"]`), "carol"),
		chromedp.SetValue(chromedp.CSS(`[data-testid="new-admin-role"]`), "operator"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="create-admin-password"]`), webtest.AdminPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="create-admin"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="new-password"]`)))
	checkPage(t, ctx, "admins-created")
	password := text(t, ctx, `[data-testid="new-password"]`)
	do(t, ctx, "sign out and in as carol",
		chromedp.Click(chromedp.CSS(`[data-testid="logout"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-name"]`), "carol"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-password"]`), password),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="admin-name"]`)))
	if got := text(t, ctx, `[data-testid="admin-name"]`); got != "carol" {
		t.Errorf("signed in as %q", got)
	}
}

// testJPEG is a small JPEG thumbnail, base64 as the users table keeps it.
func testJPEG(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

// On a 390-pixel phone the sign-in card is centred and the admins page's
// forms fit (bob's with the one turning off his two-factor sign-in); the
// browser checks the admin name's pattern.
func TestBrowserPhoneLayout(t *testing.T) {
	ctx := browser(t)
	e := webtest.New(t)
	e.NewAdmin("alice", "owner")
	bob := e.AdminLogin("bob", "operator")
	bob.Get("/admin/account")
	secret := bob.Post("/admin/account/2fa/setup", nil).TestIDText(t, "two-factor-secret")
	code, err := totp.GenerateCode(secret, e.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r := bob.Post("/admin/account/2fa/confirm", map[string]string{"password": webtest.AdminPassword, "code": code}); r.Status != http.StatusOK {
		t.Fatalf("bob's two-factor set-up: %d", r.Status)
	}
	base := e.Listen()

	// The sign-in card, centred on a phone.
	do(t, ctx, "sign-in form on a phone", chromedp.EmulateViewport(390, 900), chromedp.Navigate(base+"/admin/login"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)))
	off, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`(() => { const r = document.querySelector('.login-box').getBoundingClientRect(); return Math.abs(r.left - (document.documentElement.clientWidth - r.right)) })()`))
	if err != nil || off > 2 {
		t.Errorf("the sign-in card is %.0f px off centre at 390 px (%v)", off, err)
	}
	do(t, ctx, "sign in", chromedp.EmulateViewport(1280, 900),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-name"]`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-password"]`), webtest.AdminPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="admin-name"]`)))

	// The admins page on a phone: every form fits, the "Change…" ones open.
	do(t, ctx, "admins on a phone", chromedp.Navigate(base+"/admin/admins"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="admins-table"]`)),
		chromedp.EmulateViewport(390, 900))
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.querySelectorAll('details').forEach(d => d.open = true), true)`)); err != nil {
		t.Fatal(err)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="remove-2fa-form"]').length`)); err != nil || n != 1 {
		t.Errorf("%d forms turn off a two-factor sign-in (%v), want bob's", n, err)
	}
	clipped, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('form')].filter(f => {
		const r = f.getBoundingClientRect();
		return r.width > 0 && (r.right > document.documentElement.clientWidth + 1 || r.left < -1 || f.scrollWidth > f.clientWidth + 1);
	}).map(f => f.getAttribute('data-testid') || f.getAttribute('action'))`))
	if err != nil || len(clipped) > 0 {
		t.Errorf("forms cut off at 390 px: %v (%v)", clipped, err)
	}
	checkPage(t, ctx, "admins-phone")
	do(t, ctx, "back to desktop", chromedp.EmulateViewport(1280, 900))
	// The browser checks the name against its pattern (it would not, were
	// the pattern invalid under the v flag).
	do(t, ctx, "a bad name", chromedp.SendKeys(chromedp.CSS(`[data-testid="new-admin-name"]`), "bad name!"))
	if bad, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('[data-testid="new-admin-name"]').validity.patternMismatch`)); err != nil || !bad {
		t.Errorf("the browser does not check the name's pattern (%v)", err)
	}
}
