package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"roster/web/webtest"
)

// An owner turns on two-factor sign-in in the browser and signs in with a
// code; on a 390-pixel phone the sign-in card is centred and the admins
// page's forms fit; the browser checks the admin name's pattern.
func TestBrowserSecondFactorAndPhoneLayout(t *testing.T) {
	ctx := browser(t)
	e := webtest.New(t)
	e.NewAdmin("alice", "owner")
	e.NewAdmin("bob", "operator")
	base := e.Listen()
	code := func(secret string) string {
		c, err := totp.GenerateCode(secret, e.Clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

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

	do(t, ctx, "set up", chromedp.Navigate(base+"/admin/account"),
		chromedp.Click(chromedp.CSS(`[data-testid="two-factor-setup"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="two-factor-qr"]`)))
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const i = document.querySelector('[data-testid="two-factor-qr"]'); return i.complete && i.naturalWidth > 0 })()`))
	if err != nil || !loaded {
		t.Errorf("the QR code did not load under the CSP (%v)", err)
	}
	checkPage(t, ctx, "account-2fa-setup")
	secret := text(t, ctx, `[data-testid="two-factor-secret"]`)
	do(t, ctx, "confirm",
		chromedp.SendKeys(chromedp.CSS(`[data-testid="two-factor-confirm-password"]`), webtest.AdminPassword),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="two-factor-confirm-code"]`), code(secret)),
		chromedp.Click(chromedp.CSS(`[data-testid="two-factor-confirm"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="recovery-codes"]`)))
	checkPage(t, ctx, "account-2fa-on")
	e.Clock.Advance(30 * time.Second)

	do(t, ctx, "sign out and in with a code",
		chromedp.Click(chromedp.CSS(`[data-testid="logout"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-name"]`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-password"]`), webtest.AdminPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-code-form"]`)))
	checkPage(t, ctx, "login-code")
	do(t, ctx, "the code",
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-code"]`), code(secret)),
		chromedp.Click(chromedp.CSS(`[data-testid="login-code-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="admin-name"]`)))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasSuffix(loc, "/admin/") {
		t.Errorf("after the code the browser is at %s", loc)
	}

	// The admins page on a phone: every form fits, the "Change…" ones open.
	do(t, ctx, "admins on a phone", chromedp.Navigate(base+"/admin/admins"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="admins-table"]`)),
		chromedp.EmulateViewport(390, 900))
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.querySelectorAll('details').forEach(d => d.open = true), true)`)); err != nil {
		t.Fatal(err)
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
