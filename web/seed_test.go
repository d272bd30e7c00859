package web_test

import (
	"bytes"
	"context"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"roster/models"
	"roster/models/seed"
	"roster/web"
	"roster/web/webtest"
)

// A seeded data directory serves: the generated numbers are valid, and the
// server finds the generated contacts with the directory's own key.
func TestSeed(t *testing.T) {
	webtest.SQLiteOnly(t, "roster seed writes a SQLite file")
	dir := t.TempDir()
	seededAt := time.Now().UnixMilli() // the seed's history ends at its own now, a little later
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
		if err := checkValidPhone(seed.UserPhone(i)); err != nil {
			t.Errorf("seeded user %d has %s: %v", i, seed.UserPhone(i), err)
		}
	}
	if err := checkValidPhone(seed.Joiner); err != nil {
		t.Errorf("joiner number: %v", err)
	}
	// Seeding twice is refused.
	if err := web.Seed(context.Background(), []string{"--data-dir", dir, "--users", "10", "--books", "1", "--popular", "0"},
		noEnv, io.Discard, quietLog); err == nil {
		t.Error("seeding a non-empty database succeeded")
	}

	user2 := strings.TrimPrefix(seed.UserPhone(2), "+")
	e := webtest.New(t, webtest.WithArgs("--data-dir", dir, "--test-numbers", user2+":12345678"))
	checkSeededVariety(t, e, dir, seededAt)
	r := e.JSON(map[string]any{"op": "login", "appid": "a", "phone": user2, "otp": "12345678"})
	r.ExpectOK(t)
	got := e.GetContacts(t, r.String("token"), map[string]any{"ts": 0})
	if len(got.Contacts) < 5 {
		t.Errorf("user 2 finds %d contacts", len(got.Contacts))
	}
	// The joiner is in 10 books: signing it in notifies 10 people.
	if err := e.Server.Close(); err != nil { // one server on a data directory
		t.Fatal(err)
	}
	joiner := strings.TrimPrefix(seed.Joiner, "+")
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

// checkSeededVariety checks that a seeded deployment looks lived in: what
// the dashboard and the benchmarks must cope with is there, and consistent.
func checkSeededVariety(t *testing.T, e *webtest.Env, dir string, now int64) {
	t.Helper()
	atLeast := func(what string, min int64, query string, args ...any) {
		t.Helper()
		if n := e.Count(query, args...); n < min {
			t.Errorf("%s: %d, want at least %d", what, n, min)
		}
	}
	// Names in several scripts, accents included, and some left empty.
	atLeast("names in Cyrillic", 1, "SELECT COUNT(*) FROM users WHERE name GLOB '*[а-я]*'")
	atLeast("names in Arabic", 1, "SELECT COUNT(*) FROM users WHERE unicode(name) BETWEEN 1536 AND 1791")
	atLeast("names in Han", 1, "SELECT COUNT(*) FROM users WHERE unicode(name) BETWEEN 19968 AND 40959")
	atLeast("users without a name", 1, "SELECT COUNT(*) FROM users WHERE name = ''")
	atLeast("users with a status", 1000, "SELECT COUNT(*) FROM users WHERE status <> ''")
	atLeast("distinct names", 500, "SELECT COUNT(DISTINCT name) FROM users")
	// Sign-ups spread over the last 30 days and before.
	atLeast("joined in the last 30 days", 100, "SELECT COUNT(*) FROM users WHERE created_at > ?", now-30*86_400_000)
	atLeast("joined before that", 1000, "SELECT COUNT(*) FROM users WHERE created_at < ?", now-30*86_400_000)
	atLeast("never seen", 1, "SELECT COUNT(*) FROM users WHERE last_seen_at IS NULL")
	// People on several devices, some logged out, some blocked or moderated.
	atLeast("users on two devices", 100, "SELECT COUNT(*) FROM (SELECT user_id FROM sessions GROUP BY user_id HAVING COUNT(*) > 1)")
	atLeast("logged-out devices", 100, "SELECT COUNT(*) FROM sessions WHERE revoke_reason = 'logout'")
	atLeast("blocked users", 1, "SELECT COUNT(*) FROM users WHERE blocked_until IS NOT NULL")
	if n := e.Count("SELECT COUNT(*) FROM users u JOIN sessions s ON s.user_id = u.id WHERE u.blocked_until > ? AND s.revoked_at IS NULL", now); n != 0 {
		t.Errorf("%d live sessions of blocked users", n)
	}
	// Codes in every end state, deliveries that failed, and the audit log
	// spread over the month.
	for _, state := range []string{"verified", "expired", "exhausted"} {
		atLeast("codes "+state, 1, "SELECT COUNT(*) FROM otp_codes WHERE state = ?", state)
	}
	atLeast("failed deliveries", 1, "SELECT COUNT(*) FROM outbox WHERE state = 'failed' AND last_error <> ''")
	atLeast("delivery attempts", 1, "SELECT COUNT(*) FROM outbox_attempts")
	atLeast("days in the audit log", 28, "SELECT COUNT(DISTINCT at / 86400000) FROM audit_log WHERE at > ?", now-30*86_400_000)
	atLeast("audit entry types", 6, "SELECT COUNT(DISTINCT type) FROM audit_log")
	atLeast("contact syncs", 30, "SELECT COUNT(*) FROM contact_syncs")
	// Every derived column is what the schema's own triggers make.
	if n := e.Count(`SELECT COUNT(*) FROM users WHERE contact_json = ''`); n != 0 {
		t.Errorf("%d users without their contact entry", n)
	}
	// The seed writes the name-search grams itself (from sorted keys, fast):
	// they must be exactly the set migration 0008's backfill makes.
	const triggerGrams = `SELECT substr(f.k, p.i, 3) AS gram, f.id AS user_id
		FROM (SELECT id, (SELECT coalesce(group_concat(coalesce(m.folded, lower(substr(name, p.i, 1))), '' ORDER BY p.i), '')
		      FROM name_gram_positions p LEFT JOIN name_fold_map m ON m.ch = substr(name, p.i, 1) WHERE p.i <= length(name)) AS k
		      FROM users WHERE name <> '' LIMIT -1) AS f
		JOIN name_gram_positions p ON p.i <= length(f.k) - 2`
	if n := e.Count("SELECT COUNT(*) FROM (" + triggerGrams + " EXCEPT SELECT gram, user_id FROM user_name_grams)"); n != 0 {
		t.Errorf("%d name-search grams missing", n)
	}
	if n := e.Count("SELECT COUNT(*) FROM (SELECT gram, user_id FROM user_name_grams EXCEPT " + triggerGrams + ")"); n != 0 {
		t.Errorf("%d name-search grams too many", n)
	}
	atLeast("name-search grams", 10000, "SELECT COUNT(*) FROM user_name_grams")

	// Photos: files that exist, are JPEGs and are served.
	var photos []string
	if err := e.Server.DB().Read.Raw("SELECT photo FROM users WHERE photo <> '' ORDER BY id LIMIT 3").Scan(&photos).Error; err != nil || len(photos) < 3 {
		t.Fatalf("photos: %v %v", photos, err)
	}
	for _, name := range photos {
		f, err := os.Open(filepath.Join(dir, "files", name))
		if err != nil {
			t.Fatal(err)
		}
		_, err = jpeg.DecodeConfig(f)
		f.Close()
		if err != nil {
			t.Errorf("photo %s: %v", name, err)
		}
		if r := e.Do(httptest.NewRequest(http.MethodGet, "/files/"+name, nil)); r.Status != http.StatusOK {
			t.Errorf("GET /files/%s: %d", name, r.Status)
		}
	}

	// The dashboard's name search folds accents: "chloe" finds Chloé.
	a := e.AdminLogin("seed", "viewer")
	page := a.Get("/admin/users?q=chloe")
	if !strings.Contains(string(page.Body), "Chloé") {
		t.Errorf("searching chloe finds no Chloé")
	}
}

// An unfinished seed leaves nothing a server would open, and the next run
// starts again from scratch.
func TestSeedAfterAnInterruptedSeed(t *testing.T) {
	webtest.SQLiteOnly(t, "roster seed writes a SQLite file")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "roster.db.partial"), []byte("half a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "files.partial"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "files.partial", "x.jpg"), []byte("half a photo"), 0o600); err != nil {
		t.Fatal(err)
	}
	noEnv := func(string) string { return "" }
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // interrupted at once
	if err := web.Seed(ctx, []string{"--data-dir", dir, "--users", "100", "--books", "2", "--popular", "1"}, noEnv, io.Discard, quietLog); err == nil {
		t.Fatal("a cancelled seed succeeded")
	}
	for _, name := range []string{"roster.db", "roster.db.partial", "files.partial"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s is left after an interrupted seed", name)
		}
	}
	if err := web.Seed(context.Background(), []string{"--data-dir", dir, "--users", "100", "--books", "2", "--popular", "1"}, noEnv, io.Discard, quietLog); err != nil {
		t.Fatal(err)
	}
	e := webtest.New(t, webtest.WithArgs("--data-dir", dir))
	if n := e.Count("SELECT COUNT(*) FROM users"); n != 100 {
		t.Errorf("users after the rerun: %d", n)
	}
}

// --uniform leaves out what would make a benchmark's lists vary in size:
// no blocked or moderated users, everyone findable by everyone.
func TestSeedUniform(t *testing.T) {
	webtest.SQLiteOnly(t, "roster seed writes a SQLite file")
	dir := t.TempDir()
	err := web.Seed(context.Background(), []string{"--data-dir", dir, "--users", "3000", "--books", "30",
		"--book-min", "20", "--book-max", "40", "--popular", "10", "--uniform"}, func(string) string { return "" }, io.Discard, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	e := webtest.New(t, webtest.WithArgs("--data-dir", dir))
	for _, c := range []struct {
		query string
		args  []any
		want  int64
	}{
		{"SELECT COUNT(*) FROM users", nil, 3000},
		{"SELECT COUNT(*) FROM users WHERE blocked_until IS NOT NULL", nil, 0},
		{"SELECT COUNT(*) FROM users WHERE discoverable <> ?", []any{models.DiscoverEveryone}, 0},
		{"SELECT COUNT(*) FROM audit_log WHERE type IN (?, ?)", []any{models.EventAdminBlock, models.EventAdminModerate}, 0},
	} {
		if n := e.Count(c.query, c.args...); n != c.want {
			t.Errorf("%s: %d, want %d", c.query, n, c.want)
		}
	}
}

// checkValidPhone is the check a sign-in makes of a number: it parses, and
// it is in an assigned range.
func checkValidPhone(e164 string) error {
	p, err := models.ParsePhone(e164, "", "")
	if err != nil {
		return err
	}
	return p.CheckValid()
}
