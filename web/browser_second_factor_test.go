package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"roster/web/webtest"
)

// journeySecondFactor is the admin journey's two-factor part: the admin,
// signed in with a password, turns on two-factor sign-in on the account
// page, signs out and signs in again with a code from the authenticator
// (computed on the test's clock). It ends on the overview.
func journeySecondFactor(t *testing.T, ctx context.Context, e *webtest.Env, base, name string) {
	t.Helper()
	code := func(secret string) string {
		t.Helper()
		c, err := totp.GenerateCode(secret, e.Clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	do(t, ctx, "account", chromedp.Navigate(base+"/admin/account"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="two-factor-setup"]`)))
	if got := text(t, ctx, `[data-testid="two-factor-state"]`); !strings.HasPrefix(got, "Off:") {
		t.Errorf("before the set-up the account page says %q", got)
	}
	do(t, ctx, "set up",
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
	if got := text(t, ctx, `[data-testid="two-factor-state"]`); !strings.HasPrefix(got, "On:") {
		t.Errorf("after the set-up the account page says %q", got)
	}
	recovery, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="recovery-code"]').length`))
	if err != nil || recovery == 0 {
		t.Errorf("%d recovery codes shown (%v)", recovery, err)
	}
	checkPage(t, ctx, "account-2fa-on")
	e.Clock.Advance(30 * time.Second) // the next code: a code is used once

	do(t, ctx, "sign out and in with the password",
		chromedp.Click(chromedp.CSS(`[data-testid="logout"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-name"]`), name),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-password"]`), webtest.AdminPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-code-form"]`)))
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="admin-name"]').length`)); n != 0 {
		t.Error("the password alone signed the admin in")
	}
	checkPage(t, ctx, "login-code")
	do(t, ctx, "the code",
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-code"]`), code(secret)),
		chromedp.Click(chromedp.CSS(`[data-testid="login-code-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="admin-name"]`)))
	if got := text(t, ctx, `[data-testid="admin-name"]`); got != name {
		t.Errorf("signed in as %q", got)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasSuffix(loc, "/admin/") {
		t.Errorf("after the code the browser is at %s", loc)
	}
}
