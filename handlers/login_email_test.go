package handlers_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"roster/web/webtest"
)

// emailEnv is a Roster that signs email addresses in through a local mail
// server.
func emailEnv(t *testing.T, opts ...webtest.Option) (*webtest.Env, *webtest.FakeSMTP) {
	t.Helper()
	mail := webtest.NewFakeSMTP(t)
	args := webtest.WithArgs("--otp-channel", "smtp", "--smtp-host", "127.0.0.1", "--smtp-port", strconv.Itoa(mail.Port),
		"--smtp-tls", "none", "--smtp-from", "codes@roster.example")
	return webtest.New(t, append([]webtest.Option{args}, opts...)...), mail
}

var mailedCode = regexp.MustCompile(`\b\d{6}\b`)

// signInByEmail asks for a code for the address as typed and sends back
// the code the mail server received.
func signInByEmail(t *testing.T, e *webtest.Env, mail *webtest.FakeSMTP, typed string) *webtest.Response {
	t.Helper()
	e.Clock.Advance(time.Minute) // past the resend cooldown
	e.JSON(webtest.LoginParams(typed)).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	ms := mail.Mails()
	if len(ms) == 0 {
		t.Fatal("no mail")
	}
	data := ms[len(ms)-1].Data
	return e.Verify(typed, mailedCode.FindString(data[strings.Index(data, "\r\n\r\n"):]))
}

// An email address is one identity whatever the case it is typed in: no
// second account on the same mailbox, and a block holds for every spelling.
func TestEmailIdentityIgnoresCase(t *testing.T) {
	e, mail := emailEnv(t)
	first := signInByEmail(t, e, mail, "Victim@Example.org")
	first.ExpectOK(t)
	if first.String("phone") != "victim@example.org" {
		t.Errorf("identity %q", first.String("phone"))
	}
	again := signInByEmail(t, e, mail, "victim@example.org")
	again.ExpectOK(t)
	if again.String("uid") != first.String("uid") {
		t.Errorf("a second account on the same mailbox: uid %s, then %s", first.String("uid"), again.String("uid"))
	}
	if err := e.Server.DB().Write.Exec("UPDATE users SET blocked_until = ?", e.Clock.Now().Add(time.Hour).UnixMilli()).Error; err != nil {
		t.Fatal(err)
	}
	signInByEmail(t, e, mail, "VICTIM@example.ORG").ExpectFail(t, "BLOCKED")
	if n := e.Count("SELECT COUNT(*) FROM users"); n != 1 {
		t.Errorf("%d users for one mailbox", n)
	}
}

// Migration 0011 folds the addresses already stored, and never fails on
// accounts that collide once folded: the folded address goes to the one
// that has it already, else to the oldest; the others keep their spelling;
// the latest block of a group holds for the account that signs in.
func TestEmailFoldingMigration(t *testing.T) {
	e, mail := emailEnv(t)
	db := e.Server.DB().Write
	now := e.Clock.Now().UnixMilli()
	later := e.Clock.Now().Add(48 * time.Hour).UnixMilli()
	rows := []struct {
		phone   string
		blocked any
	}{
		{"Alice@x.org", nil},
		{"Bob@x.org", nil}, {"bob@x.org", nil}, // the folded one exists: it keeps it
		{"Carol@x.org", nil}, {"CAROL@x.org", later}, // the older one takes it, with the block
		{"Élodie@x.org", nil}, // not ASCII: as ParseEmail keeps it
		{"+12015550123", nil},
	}
	for _, r := range rows {
		if err := db.Exec("INSERT INTO users (phone, country_code, created_at, profile_at, blocked_until) VALUES (?, 0, ?, ?, ?)",
			r.phone, now, now, r.blocked).Error; err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Exec("DELETE FROM schema_migrations WHERE version = 11").Error; err != nil {
		t.Fatal(err)
	}
	e2 := webtest.New(t, webtest.SameDatabase(e), webtest.WithArgs("--otp-channel", "smtp", "--smtp-host", "127.0.0.1",
		"--smtp-port", strconv.Itoa(mail.Port), "--smtp-tls", "none", "--smtp-from", "codes@roster.example"))
	var got []string
	if err := e2.Server.DB().Read.Raw("SELECT phone || ' ' || COALESCE(blocked_until, 0) FROM users ORDER BY id").Scan(&got).Error; err != nil {
		t.Fatal(err)
	}
	l := strconv.FormatInt(later, 10)
	want := []string{"alice@x.org 0", "Bob@x.org 0", "bob@x.org 0", "carol@x.org " + l, "CAROL@x.org " + l, "Élodie@x.org 0", "+12015550123 0"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("after the migration:\n%s\nwant\n%s", strings.Join(got, ", "), strings.Join(want, ", "))
	}
	signInByEmail(t, e2, mail, "CAROL@X.org").ExpectFail(t, "BLOCKED")
	r := signInByEmail(t, e2, mail, "ALICE@x.org")
	r.ExpectOK(t)
	if r.String("uid") != "1" {
		t.Errorf("Alice signed in as uid %s, not her account", r.String("uid"))
	}
}
