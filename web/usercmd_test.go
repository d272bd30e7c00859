package web_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"roster/web"
	"roster/web/webtest"
)

// roster users unlock clears a number's lock on the running deployment's
// database and audits it; a text that is no number is a usage error.
func TestUsersUnlockSubcommand(t *testing.T) {
	webtest.SQLiteOnly(t, "roster users on the data directory's file")
	e := webtest.New(t)
	for range 2 {
		e.Clock.Advance(time.Minute)
		e.JSON(map[string]any{"op": "login", "appid": "a", "phone": webtest.USPhone}).ExpectOK(t)
		for range 5 {
			e.JSON(map[string]any{"op": "login", "appid": "a", "phone": webtest.USPhone, "otp": "000000"})
		}
	}
	e.Clock.Advance(time.Minute)
	e.JSON(map[string]any{"op": "login", "appid": "a", "phone": webtest.USPhone}).ExpectFail(t, "LOCKED")
	env := func(string) string { return "" }
	var out bytes.Buffer
	err := web.UsersCommand(context.Background(), []string{"unlock", "not a number", "--data-dir", e.DataDir}, env, &out)
	if !errors.Is(err, web.ErrUsage) {
		t.Errorf("a text that is no number: %v", err)
	}
	out.Reset()
	if err := web.UsersCommand(context.Background(), []string{"unlock", "(201) 555-0123", "--data-dir", e.DataDir}, env, &out); err != nil {
		t.Fatal(err)
	}
	// The command runs on the system clock, past the test clock's lock: it
	// counts no network as locked, and clears the lock all the same.
	if !strings.HasPrefix(out.String(), "unlocked +12015550123: ") {
		t.Errorf("unlock said %q", out.String())
	}
	e.JSON(map[string]any{"op": "login", "appid": "a", "phone": webtest.USPhone}).ExpectOK(t)
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_unlock_phone' AND actor = 'cli'"); n != 1 {
		t.Errorf("%d unlocks audited", n)
	}
}

// roster users create makes an account awaiting its owner's first sign-in,
// audited; a number that has an account is refused, naming it.
func TestUsersCreateSubcommand(t *testing.T) {
	webtest.SQLiteOnly(t, "roster users on the data directory's file")
	e := webtest.New(t)
	env := func(string) string { return "" }
	var out bytes.Buffer
	for _, args := range [][]string{{"create", "--name", "Bob"}, {"create", "--phone", "twelve"}, {"create", "--phone", "+12015550123", "extra"}} {
		if err := web.UsersCommand(context.Background(), append(args, "--data-dir", e.DataDir), env, &out); !errors.Is(err, web.ErrUsage) {
			t.Errorf("%q: %v", args, err)
		}
	}
	out.Reset()
	if err := web.UsersCommand(context.Background(), []string{"create", "--phone", "(201) 555-0123", "--name", "Bob", "--data-dir", e.DataDir}, env, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "created user ") || !strings.Contains(out.String(), " for +12015550123;") {
		t.Errorf("create said %q", out.String())
	}
	if n := e.Count("SELECT COUNT(*) FROM users WHERE phone = '+12015550123' AND name = 'Bob' AND awaiting_signin AND created_by = 'cli'"); n != 1 {
		t.Error("no account awaiting its owner")
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_create_user' AND actor = 'cli' AND phone = '+12015550123'"); n != 1 {
		t.Errorf("%d creations audited", n)
	}
	err := web.UsersCommand(context.Background(), []string{"create", "--phone", "+12015550123", "--data-dir", e.DataDir}, env, &out)
	if err == nil || !strings.Contains(err.Error(), "+12015550123 already has an account: user ") {
		t.Errorf("a second create: %v", err)
	}
	e.SignIn(webtest.USPhone, "b")
	if n := e.Count("SELECT COUNT(*) FROM users WHERE phone = '+12015550123' AND NOT awaiting_signin"); n != 1 {
		t.Error("the owner's sign-in did not take the account")
	}
}
