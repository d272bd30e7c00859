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
