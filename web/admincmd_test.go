package web_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/pquerna/otp/totp"

	"roster/web"
	"roster/web/webtest"
)

func TestAdminSubcommand(t *testing.T) {
	webtest.SQLiteOnly(t, "roster admin on the data directory's file; on PostgreSQL see TestDatabaseURL")
	e := webtest.New(t)
	dir := e.DataDir
	env := func(string) string { return "" }
	var out bytes.Buffer
	err := web.AdminCommand(context.Background(), []string{"create", "olga", "--role", "viewer", "--data-dir", dir}, env, strings.NewReader("a long enough password\n"), &out)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "password:") {
		t.Error("a given password was printed")
	}
	out.Reset()
	if err := web.AdminCommand(context.Background(), []string{"reset-password", "olga", "--data-dir", dir}, env, strings.NewReader(""), &out); err != nil {
		t.Fatal(err)
	}
	_, pw, ok := strings.Cut(out.String(), "password: ")
	if !ok {
		t.Fatalf("no generated password printed: %q", out.String())
	}
	b := e.Browser()
	if r := b.Login("olga", "a long enough password"); r.Status != 401 {
		t.Errorf("old password still works: %d", r.Status)
	}
	if r := b.Login("olga", strings.TrimSpace(pw)); r.Status != 303 {
		t.Errorf("new password refused: %d", r.Status)
	}
	// revoke-sessions signs the admin out of every browser.
	c := e.Browser()
	c.Login("olga", strings.TrimSpace(pw))
	if r := c.Get("/admin/"); r.Status != 200 {
		t.Fatalf("olga not signed in: %d", r.Status)
	}
	out.Reset()
	if err := web.AdminCommand(context.Background(), []string{"revoke-sessions", "olga", "--data-dir", dir}, env, nil, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "2 sessions") {
		t.Errorf("revoke-sessions said %q", out.String())
	}
	if r := c.Get("/admin/"); r.Status != 303 {
		t.Errorf("revoked session still works: %d", r.Status)
	}
	// The server's --flag style: --name, and flags before the name too.
	for _, args := range [][]string{{"create", "--name", "pavel", "--role", "viewer", "--data-dir", dir}, {"create", "--data-dir", dir, "--role", "viewer", "quinn"}} {
		out.Reset()
		if err := web.AdminCommand(context.Background(), args, env, strings.NewReader("a long enough password\n"), &out); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
	if n := e.Count("SELECT COUNT(*) FROM admins WHERE name IN ('pavel', 'quinn') AND role = 'viewer'"); n != 2 {
		t.Errorf("%d of the two admins created with flags", n)
	}
	out.Reset()
	if err := web.AdminCommand(context.Background(), []string{"create", "--help"}, env, nil, &out); !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "-role") {
		t.Errorf("--help: %v %q", err, out.String())
	}
	for _, bad := range [][]string{{"create", "x y", "--data-dir", dir}, {"create", "short", "--data-dir", dir}, {"reset-password", "nobody", "--data-dir", dir}, {"delete", "olga", "--data-dir", dir}, {"create", "z", "--role", "god", "--data-dir", dir}, {"create", "--name", "a1", "b2", "--data-dir", dir}, {"create", "--data-dir", dir}} {
		if err := web.AdminCommand(context.Background(), bad, env, strings.NewReader("tiny\n"), &out); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestAdminDisableSecondFactorSubcommand(t *testing.T) {
	webtest.SQLiteOnly(t, "roster admin on the data directory's file; on PostgreSQL see TestDatabaseURL")
	e := webtest.New(t)
	a := e.AdminLogin("olga", "owner")
	a.Get("/admin/account")
	secret := a.Post("/admin/account/2fa/setup", nil).TestIDText(t, "two-factor-secret")
	code, err := totp.GenerateCode(secret, e.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r := a.Post("/admin/account/2fa/confirm", map[string]string{"password": webtest.AdminPassword, "code": code}); r.CountTestID(t, "recovery-code") != 10 {
		t.Fatalf("enrolment: %d %s", r.Status, r.Body)
	}
	// A sign-in waits for its code, then the command turns the second factor off.
	waiting := e.Browser()
	if r := waiting.Login("olga", webtest.AdminPassword); r.Header.Get("Location") != "/admin/login/code" {
		t.Fatalf("after the password: %q", r.Header.Get("Location"))
	}
	var out bytes.Buffer
	if err := web.AdminCommand(context.Background(), []string{"disable-2fa", "olga", "--data-dir", e.DataDir}, func(string) string { return "" }, nil, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "turned off") {
		t.Errorf("disable-2fa said %q", out.String())
	}
	if r := waiting.Get("/admin/login/code"); r.Status != 303 {
		t.Errorf("the waiting sign-in goes on: %d", r.Status)
	}
	if r := e.Browser().Login("olga", webtest.AdminPassword); r.Header.Get("Location") != "/admin/" {
		t.Errorf("the password alone: sent to %q", r.Header.Get("Location"))
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_2fa_disabled' AND actor = 'cli'"); n != 1 {
		t.Errorf("%d disables audited", n)
	}
}
