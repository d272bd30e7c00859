package web_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"roster/web/webtest"
)

// The support pages in a browser, as an operator uses them: creating a
// user from the users page (the form leaves for the new user's page),
// paging back through the codes, and a message's delivery attempts; each
// page checked by axe and photographed at 1280 and 390 pixels, light and
// dark.
func TestBrowserSupportPages(t *testing.T) {
	ctx := browser(t)
	e := webtest.NewPeople(t)
	e.NewAdmin("olga", "operator")
	for i := range 30 {
		e.JSON(map[string]any{"op": "login", "appid": "a", "phone": fmt.Sprintf("120155501%02d", i)}).ExpectOK(t)
	}
	e.Clock.Advance(time.Minute)
	e.Server.Worker().RunOnce(t.Context())
	base := e.Listen()
	do(t, ctx, "sign in",
		chromedp.Navigate(base+"/admin/login"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-name"]`), "olga"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-password"]`), webtest.AdminPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="admin-name"]`)))

	do(t, ctx, "open the create form",
		chromedp.Navigate(base+"/admin/users"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="create-user"] summary`)),
		chromedp.Click(chromedp.CSS(`[data-testid="create-user"] summary`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="create-user-phone"]`)))
	checkPage(t, ctx, "users-create")
	do(t, ctx, "create a user",
		chromedp.SendKeys(chromedp.CSS(`[data-testid="create-user-phone"]`), "(201) 555-0199"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="create-user-name"]`), "Zoe"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="create-user-password"]`), webtest.AdminPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="create-user-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="awaiting-sign-in"]`)))
	if got := text(t, ctx, `[data-testid="notice"]`); !strings.HasPrefix(got, "Created the account of +12015550199.") {
		t.Errorf("notice %q", got)
	}
	checkPage(t, ctx, "user-created")
	do(t, ctx, "create it again",
		chromedp.Navigate(base+"/admin/users"),
		chromedp.Click(chromedp.CSS(`[data-testid="create-user"] summary`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="create-user-phone"]`), "+1 201 555 0199"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="create-user-password"]`), webtest.AdminPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="create-user-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="existing-user-link"]`)))
	checkPage(t, ctx, "users-create-existing")

	do(t, ctx, "codes, 25 a page",
		chromedp.Navigate(base+"/admin/codes?size=25"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="older-page"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="older-page"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="newer-page"]`)))
	rows, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll(`[data-testid="code-row"]`)))
	if err != nil || len(rows) != 5 {
		t.Errorf("the older page has %d codes (%v), want 5", len(rows), err)
	}
	checkPage(t, ctx, "codes-older")
	do(t, ctx, "a message's attempts",
		chromedp.Click(chromedp.CSS(`[data-testid="code-attempts"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="attempt-row"]`)))
	checkPage(t, ctx, "outbox-message")
	colorScheme(t, ctx, "dark")
	checkPage(t, ctx, "dark-outbox-message")
	do(t, ctx, "dark codes", chromedp.Navigate(base+"/admin/codes?size=25"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="older-page"]`)))
	checkPage(t, ctx, "dark-codes")
	colorScheme(t, ctx, "light")
}
