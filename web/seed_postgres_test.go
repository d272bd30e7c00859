package web_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"roster/models"
	"roster/models/pgtest"
	"roster/models/seed"
	"roster/web"
	"roster/web/webtest"
)

// `roster seed` with ROSTER_DATABASE_URL generates the deployment and copies
// it into PostgreSQL: the users, their address books and the name search are
// there, a server on the database finds the generated contacts with the
// environment's key, the photos are in the data directory, the scratch
// directory is gone, and seeding again is refused.
func TestSeedPostgres(t *testing.T) {
	url := pgtest.Fresh(t)
	dir := t.TempDir()
	env := func(k string) string {
		if k == "ROSTER_DATABASE_URL" {
			return url
		}
		return clusterKeys(k)
	}
	var out bytes.Buffer
	args := []string{"--data-dir", dir, "--users", "3000", "--books", "30", "--book-min", "20", "--book-max", "40", "--popular", "10"}
	if err := web.Seed(context.Background(), args, env, &out, quietLog); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "generated 3000 users, 30 address books") {
		t.Errorf("seed output: %s", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "seed-for-postgres")); !os.IsNotExist(err) {
		t.Errorf("the scratch directory is left: %v", err)
	}
	photos, _ := os.ReadDir(filepath.Join(dir, "files"))
	if len(photos) == 0 {
		t.Error("no photos in the data directory's files")
	}

	db, err := models.OpenPostgres(t.Context(), url, models.PostgresPool{MaxOpen: 4, MaxIdle: 4}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	user2 := strings.TrimPrefix(seed.UserPhone(2), "+")
	e := webtest.New(t, webtest.WithArgs("--data-dir", dir, "--test-numbers", user2+":12345678"),
		func(_ *web.Config, o *web.Options) { o.Database, o.Getenv = db, clusterKeys })
	for what, query := range map[string]string{
		"users":                    "SELECT COUNT(*) FROM users",
		"address books":            "SELECT COUNT(DISTINCT owner_id) FROM address_book",
		"users in the name search": "SELECT COUNT(DISTINCT user_id) FROM user_name_grams",
		"photos":                   "SELECT COUNT(*) FROM users WHERE photo <> ''",
		"sessions":                 "SELECT COUNT(*) FROM sessions",
		"audit entries":            "SELECT COUNT(*) FROM audit_log",
	} {
		if n := e.Count(query); n == 0 {
			t.Errorf("%s: none", what)
		}
	}
	r := e.JSON(map[string]any{"op": "login", "appid": "a", "phone": user2, "otp": "12345678"})
	r.ExpectOK(t)
	if got := e.GetContacts(t, r.String("token"), map[string]any{"ts": 0}); len(got.Contacts) < 5 {
		t.Errorf("user 2 finds %d contacts", len(got.Contacts))
	}

	if err := web.Seed(context.Background(), []string{"--data-dir", dir, "--users", "10", "--books", "1", "--popular", "0"},
		env, io.Discard, quietLog); err == nil || !strings.Contains(err.Error(), "already has 3000 users") {
		t.Errorf("seeding a database with users: %v", err)
	}
}
