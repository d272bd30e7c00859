package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"roster/web/webtest"
)

// The pages the admin journey does not reach, opened in a browser and
// checked like every other (checkPage): the groups list and a group's
// page, the pushes page with a push delivered and one given up, and the
// 403 page a viewer gets on an owner's page.
func TestBrowserGroupsPushesAndRefusal(t *testing.T) {
	ctx := browser(t)
	fcm := webtest.NewFakeFCM(t)
	e := webtest.NewPeople(t, fcm.Args()...)
	e.NewAdmin("olga", "owner")
	e.NewAdmin("victor", "viewer")
	bob := e.SignIn("12015550177", "bob-phone")
	e.JSON(map[string]any{"op": "setnotify", "token": bob, "notifytoken": "fcm-token-of-bob-0123456789"}).ExpectOK(t)
	e.GetContacts(t, bob, map[string]any{"phones": "+12015550166,+" + webtest.FRPhone})
	push := func() {
		e.FanOut()
		e.Server.Pusher().RunOnce(t.Context())
	}
	carl := e.SignIn("12015550166", "carl-phone")
	push()
	fcm.Answer(func(string) webtest.Reply { return webtest.FCMError(404, "UNREGISTERED") })
	e.SetProfile(t, carl, map[string]any{"name": "Carl"})
	push()
	e.SignIn(webtest.FRPhone, "fr-phone")
	e.JSON(map[string]any{"op": "setgroup", "token": bob, "name": "Book club", "m": "+12015550166,+" + webtest.FRPhone}).ExpectOK(t)
	base := e.Listen()

	signIn := func(name string) {
		t.Helper()
		do(t, ctx, "sign in as "+name,
			chromedp.Navigate(base+"/admin/login"),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
			chromedp.SendKeys(chromedp.CSS(`[data-testid="login-name"]`), name),
			chromedp.SendKeys(chromedp.CSS(`[data-testid="login-password"]`), webtest.AdminPassword),
			chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="admin-name"]`)))
	}
	signIn("olga")

	do(t, ctx, "groups", chromedp.Navigate(base+"/admin/groups"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="groups-table"]`)))
	if got := text(t, ctx, `[data-testid="group-link"]`); got != "Book club" {
		t.Errorf("the groups list shows %q", got)
	}
	checkPage(t, ctx, "groups")
	do(t, ctx, "a group", chromedp.Click(chromedp.CSS(`[data-testid="group-link"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid="members-table"]`)))
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="member-row"]').length`)); err != nil || n != 3 {
		t.Errorf("the group page lists %d members (%v), want 3", n, err)
	}
	if got := text(t, ctx, `[data-testid="group-dates"]`); got != "Created just now · last change just now" {
		t.Errorf("the group's dates read %q", got)
	}
	checkPage(t, ctx, "group")

	do(t, ctx, "pushes", chromedp.Navigate(base+"/admin/pushes"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="pushes-table"]`)))
	if got := text(t, ctx, `[data-testid="pushes-total"]`); got != "2 push jobs" {
		t.Errorf("the pushes page counts %q", got)
	}
	if got := text(t, ctx, `[data-testid="push-to"]`); got != "+1 201-555-0177" {
		t.Errorf("a push's recipient is shown as %q, not as other pages show numbers", got)
	}
	checkPage(t, ctx, "pushes")
	do(t, ctx, "pushes given up",
		chromedp.SetValue(chromedp.CSS(`[data-testid="filter-state"]`), "failed"),
		chromedp.Submit(chromedp.CSS(`[data-testid="filter-state"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="push-error"]`)))
	if got := text(t, ctx, `[data-testid="pushes-total"]`); got != "1 push job" {
		t.Errorf("the pushes given up are counted %q", got)
	}
	if got := text(t, ctx, `[data-testid="push-error"]`); !strings.Contains(got, "UNREGISTERED") {
		t.Errorf("the push given up says %q", got)
	}

	// A viewer opening an owner's page gets the 403 page, which says why once.
	do(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`[data-testid="logout"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)))
	signIn("victor")
	do(t, ctx, "the admins page as a viewer", chromedp.Navigate(base+"/admin/admins"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="notice-error"]`)))
	if got := text(t, ctx, `[data-testid="notice-error"]`); !strings.Contains(got, "owner") {
		t.Errorf("the 403 page says %q", got)
	}
	checkPage(t, ctx, "forbidden")
}
