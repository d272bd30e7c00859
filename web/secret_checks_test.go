package web_test

import (
	"context"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"roster/web"
	"roster/web/webtest"
)

// withEnv gives the server one environment variable.
func withEnv(name, value string) webtest.Option {
	return webtest.WithOptions(func(o *web.Options) {
		o.Getenv = func(k string) string {
			if k == name {
				return value
			}
			return ""
		}
	})
}

// both applies the options in order.
func both(a, b webtest.Option) webtest.Option {
	return func(c *web.Config, o *web.Options) { a(c, o); b(c, o) }
}

// A contacts key that is well-formed but not the one the stored address
// books were hashed with is refused at start, naming the key and where it
// came from; the right key starts. A database made before check values
// existed records the key in use at its first start.
func TestWrongContactsKeyStopsTheStart(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(webtest.USPhone, "a")
	e.SignIn(webtest.FRPhone, "b")
	if got := e.GetContacts(t, alice, map[string]any{"phones": "+" + webtest.FRPhone}); len(got.Contacts) != 1 {
		t.Fatalf("contacts before: %+v", got.Contacts)
	}
	if n := e.Count("SELECT COUNT(*) FROM secret_checks WHERE name IN ('otp', 'contacts')"); n != 2 {
		t.Fatalf("%d check values recorded at the first start", n)
	}
	dir := e.DataDir
	same := webtest.SameDatabase(e)
	keyFile := filepath.Join(dir, "secrets", "contacts.key")
	saved, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	e.Server.Close()

	other := strings.Repeat("k", 40)
	_, err = startWith(t, dir, both(same, withEnv("ROSTER_CONTACTS_KEY", other)))
	if err == nil || !strings.Contains(err.Error(), "contacts secret from $ROSTER_CONTACTS_KEY is not the key") ||
		strings.Contains(err.Error(), other) {
		t.Fatalf("started with another contacts key from the environment: %v", err)
	}
	os.WriteFile(keyFile, []byte(hex.EncodeToString([]byte(other))+"\n"), 0o600)
	_, err = startWith(t, dir, same)
	if err == nil || !strings.Contains(err.Error(), "contacts secret from "+keyFile+" is not the key") {
		t.Fatalf("started with another contacts key file: %v", err)
	}
	os.WriteFile(keyFile, saved, 0o600)
	srv, err := startWith(t, dir, same)
	if err != nil {
		t.Fatalf("with the right key: %v", err)
	}
	// The same key in the form `roster copy` prints starts too.
	srv.Close()
	if _, err := startWith(t, dir, both(same, withEnv("ROSTER_CONTACTS_KEY", "hex:"+strings.TrimSpace(string(saved))))); err != nil {
		t.Fatalf("with the right key as hex: %v", err)
	}
}

// A database made before check values existed records the key in use at
// its first start, and refuses another one from then on.
func TestSecretCheckRecordedOnUpgrade(t *testing.T) {
	e := webtest.NewPeople(t)
	e.SignIn(webtest.USPhone, "a")
	if err := e.Server.DB().Write.Exec("DELETE FROM secret_checks").Error; err != nil {
		t.Fatal(err)
	}
	dir := e.DataDir
	same := webtest.SameDatabase(e)
	e.Server.Close()
	srv, err := startWith(t, dir, same)
	if err != nil {
		t.Fatalf("first start after the upgrade: %v", err)
	}
	var n int64
	srv.DB().Read.Raw("SELECT COUNT(*) FROM secret_checks WHERE name = 'contacts'").Scan(&n)
	if n != 1 {
		t.Fatal("the key in use was not recorded")
	}
	srv.Close()
	if _, err := startWith(t, dir, both(same, withEnv("ROSTER_CONTACTS_KEY", strings.Repeat("k", 40)))); err == nil {
		t.Fatal("started with another key after the upgrade")
	}
}

// While nothing stored depends on a key (no user yet), a different one is
// taken and its check value replaces the recorded one.
func TestChangedKeyOverNoDataIsRecorded(t *testing.T) {
	e := webtest.New(t)
	dir := e.DataDir
	same := webtest.SameDatabase(e)
	e.Server.Close()
	newKey := both(same, withEnv("ROSTER_CONTACTS_KEY", strings.Repeat("k", 40)))
	srv, err := startWith(t, dir, newKey)
	if err != nil {
		t.Fatalf("another key over an empty database: %v", err)
	}
	srv.Close()
	e2 := webtest.New(t, newKey)
	e2.SignIn(webtest.USPhone, "a") // now a user's contact hash depends on the new key
	e2.Server.Close()
	if _, err := startWith(t, dir, same); err == nil || !strings.Contains(err.Error(), "is not the key") {
		t.Fatalf("the first key again, over data made with the new one: %v", err)
	}
}

// A seeded database holds the check values of the keys it was seeded with:
// a first start with another contacts key is refused.
func TestSeededDatabaseRefusesAnotherKey(t *testing.T) {
	webtest.SQLiteOnly(t, "roster seed writes a SQLite file")
	dir := t.TempDir()
	noEnv := func(string) string { return "" }
	if err := web.Seed(context.Background(), []string{"--data-dir", dir, "--users", "10", "--books", "1", "--popular", "0"},
		noEnv, io.Discard, quietLog); err != nil {
		t.Fatal(err)
	}
	if _, err := startWith(t, dir, withEnv("ROSTER_CONTACTS_KEY", strings.Repeat("k", 40))); err == nil ||
		!strings.Contains(err.Error(), "is not the key") {
		t.Fatalf("first start on a seeded database with another key: %v", err)
	}
	if _, err := startWith(t, dir, nil); err != nil {
		t.Fatalf("with the seed's keys: %v", err)
	}
}
