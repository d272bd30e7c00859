package web_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"roster/models"
	"roster/web"
	"roster/web/webtest"
)

// roster backup copies the live database and the secrets; the copy opens
// and holds the data.
func TestBackupCommand(t *testing.T) {
	webtest.SQLiteOnly(t, "roster backup copies the SQLite file (VACUUM INTO)")
	e := webtest.New(t)
	e.SignIn(webtest.USPhone, "d")
	dest := filepath.Join(t.TempDir(), "roster-backup.db")
	var out strings.Builder
	if err := web.BackupCommand(context.Background(), []string{"--data-dir", e.DataDir, "--out", dest}, func(string) string { return "" }, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "secret files copied") {
		t.Errorf("output %q", out.String())
	}
	if st, err := os.Stat(dest); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("backup file: %v %v", st, err)
	}
	st, err := os.Stat(filepath.Join(dest+".secrets", "otp.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("otp.key copy: %v %v", st, err)
	}
	orig, _ := os.ReadFile(filepath.Join(e.DataDir, "secrets", "contacts.key"))
	copied, _ := os.ReadFile(filepath.Join(dest+".secrets", "contacts.key"))
	if len(orig) == 0 || string(orig) != string(copied) {
		t.Error("the contacts key was not copied")
	}
	db, err := models.Open(context.Background(), dest, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int64
	db.Read.Raw("SELECT COUNT(*) FROM users").Scan(&n)
	if n != 1 {
		t.Errorf("%d users in the copy", n)
	}
	// An existing file is never overwritten.
	if err := web.BackupCommand(context.Background(), []string{"--data-dir", e.DataDir, "--out", dest}, func(string) string { return "" }, &out); err == nil {
		t.Error("an existing backup was overwritten")
	}
}
