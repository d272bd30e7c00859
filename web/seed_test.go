package web_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"roster/models"
	"roster/web"
	"roster/web/webtest"
)

// A seeded data directory serves: the generated numbers are valid, and the
// server finds the generated contacts with the directory's own key.
func TestSeed(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	noEnv := func(string) string { return "" }
	err := web.Seed(context.Background(), []string{"--data-dir", dir, "--users", "3000", "--books", "30",
		"--book-min", "20", "--book-max", "40", "--popular", "10"}, noEnv, &out, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "3000 users, 30 address books") {
		t.Errorf("seed output: %s", out.String())
	}
	for _, i := range []int{1, 2, 1500, 3000} {
		if _, err := models.ParseValidPhone(models.SeedUserPhone(i), "", ""); err != nil {
			t.Errorf("seeded user %d has %s: %v", i, models.SeedUserPhone(i), err)
		}
	}
	if _, err := models.ParseValidPhone(models.SeedJoiner, "", ""); err != nil {
		t.Errorf("joiner number: %v", err)
	}
	// Seeding twice is refused.
	if err := web.Seed(context.Background(), []string{"--data-dir", dir, "--users", "10", "--books", "1", "--popular", "0"},
		noEnv, io.Discard, quietLog); err == nil {
		t.Error("seeding a non-empty database succeeded")
	}

	user2 := strings.TrimPrefix(models.SeedUserPhone(2), "+")
	e := webtest.New(t, webtest.WithArgs("--data-dir", dir, "--test-numbers", user2+":12345678"))
	r := e.JSON(map[string]any{"op": "login", "appid": "a", "phone": user2, "otp": "12345678"})
	r.ExpectOK(t)
	got := e.GetContacts(t, r.String("token"), map[string]any{"ts": 0})
	if len(got.Contacts) < 5 {
		t.Errorf("user 2 finds %d contacts", len(got.Contacts))
	}
	// The joiner is in 10 books: signing it in notifies 10 people.
	joiner := strings.TrimPrefix(models.SeedJoiner, "+")
	e2 := webtest.New(t, webtest.WithArgs("--data-dir", dir, "--test-numbers", joiner+":12345678"))
	e2.JSON(map[string]any{"op": "login", "appid": "a", "phone": joiner, "otp": "12345678"}).ExpectOK(t)
	total := 0
	for {
		n, err := e2.Server.Events().RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		total += n
	}
	if total != 10 {
		t.Errorf("join notice recipients %d, want 10", total)
	}
}
