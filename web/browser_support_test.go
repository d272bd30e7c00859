package web_test

import (
	"context"
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
}

// journeySupport is the admin journey's support tasks: a number locked
// after wrong codes is unlocked from the filtered codes page, a user's name
// is edited (a contact's app then gets it), and the codes are paged back
// and forth. The deployment must not limit codes by IP or prefix
// (webtest.NewPeople).
func journeySupport(t *testing.T, ctx context.Context, e *webtest.Env, base, uid, bobToken string) {
	t.Helper()
	const locked = "12015550188"
	for range 2 {
		e.Clock.Advance(time.Minute)
		e.JSON(map[string]any{"op": "login", "appid": "a", "phone": locked}).ExpectOK(t)
		for range 5 {
			e.JSON(map[string]any{"op": "login", "appid": "a", "phone": locked, "otp": "000000"})
		}
	}
	e.Clock.Advance(time.Minute)
	e.JSON(map[string]any{"op": "login", "appid": "a", "phone": locked}).ExpectFail(t, "LOCKED")

	do(t, ctx, "unlock from the codes page",
		chromedp.Navigate(base+"/admin/codes?q=%2B1201"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="unlock-phone"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="unlock-phone"]`), "(201) 555-0188"),
		chromedp.Click(chromedp.CSS(`[data-testid="unlock-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="notice"]`)))
	if got := text(t, ctx, `[data-testid="notice"]`); !strings.HasPrefix(got, "Unlocked +12015550188: it was locked on 1 network;") {
		t.Errorf("unlock notice %q", got)
	}
	if q, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('input[name="q"]').value`)); err != nil || q != "+1201" {
		t.Errorf("after the unlock the codes are filtered by %q (%v)", q, err)
	}
	checkPage(t, ctx, "codes-unlocked")
	e.JSON(map[string]any{"op": "login", "appid": "a", "phone": locked}).ExpectOK(t)

	// Edit the user's name: the page shows it, Bob's app gets it.
	do(t, ctx, "edit the name",
		chromedp.Navigate(base+"/admin/users/"+uid),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="profile-form"]`)),
		chromedp.Clear(chromedp.CSS(`[data-testid="edit-name"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="edit-name"]`), "Elodie Martin"))
	actInPlace(t, ctx, "save the name", `[data-testid="moderation"] [data-testid="notice"]`,
		chromedp.Click(chromedp.CSS(`[data-testid="edit-profile"]`)))
	if got := text(t, ctx, `[data-testid="moderation"] [data-testid="notice"]`); !strings.HasPrefix(got, "Saved the name and status") {
		t.Errorf("edit notice %q", got)
	}
	if got := text(t, ctx, `[data-testid="profile-name"]`); got != "Elodie Martin" {
		t.Errorf("after the edit the page shows the name %q", got)
	}
	checkPage(t, ctx, "user-edited")
	got := e.GetContacts(t, bobToken, map[string]any{"phones": "+" + webtest.FRPhone})
	if len(got.Contacts) != 1 || got.Contacts[0].Name != "Elodie Martin" {
		t.Errorf("after the edit getcontacts returns %+v", got.Contacts)
	}

	// Page back through the codes, 25 a page, and forth again.
	for i := range 24 {
		e.JSON(map[string]any{"op": "login", "appid": "a", "phone": fmt.Sprintf("120155502%02d", i)}).ExpectOK(t)
	}
	total := e.Count("SELECT COUNT(*) FROM otp_codes")
	firstRow := func() string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-testid="code-row"]').innerText`))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	rowCount := func() int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="code-row"]').length`))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	do(t, ctx, "codes, 25 a page",
		chromedp.Navigate(base+"/admin/codes"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="page-size"]`)),
		chromedp.SetValue(chromedp.CSS(`[data-testid="page-size"]`), "25"),
		chromedp.Submit(chromedp.CSS(`[data-testid="page-size"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="older-page"]`)))
	if got, want := text(t, ctx, `[data-testid="codes-total"]`), fmt.Sprintf("%d code requests", total); got != want {
		t.Errorf("the codes page counts %q, want %q", got, want)
	}
	if n := rowCount(); n != 25 {
		t.Errorf("the newest page has %d codes, want 25", n)
	}
	newest := firstRow()
	do(t, ctx, "older codes",
		chromedp.Click(chromedp.CSS(`[data-testid="older-page"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="newer-page"]`)))
	if n := rowCount(); int64(n) != total-25 {
		t.Errorf("the older page has %d codes, want %d", n, total-25)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="older-page"]').length`)); n != 0 {
		t.Error("the oldest page links to older codes")
	}
	checkPage(t, ctx, "codes-older")
	do(t, ctx, "newer codes",
		chromedp.Click(chromedp.CSS(`[data-testid="newer-page"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="older-page"]`)))
	if n := rowCount(); n != 25 {
		t.Errorf("back on the newer page: %d codes, want 25", n)
	}
	if got := firstRow(); got != newest {
		t.Errorf("back on the newer page the first code is %q, want %q", got, newest)
	}
}
