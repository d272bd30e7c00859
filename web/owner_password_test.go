package web_test

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"roster/web/webtest"
)

// firstOwner signs in as the first start's owner with the password from
// its file.
func firstOwner(t *testing.T, e *webtest.Env) (*webtest.AdminClient, string, string) {
	t.Helper()
	path := filepath.Join(e.DataDir, "owner-password.txt")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pw := strings.TrimSpace(string(raw))
	a := e.Browser()
	expectStatus(t, a.Login("admin", pw), http.StatusSeeOther)
	a.Get("/admin/account")
	return a, path, pw
}

func TestOwnerPasswordFileDeletedOnceChanged(t *testing.T) {
	e := webtest.New(t)
	a, path, pw := firstOwner(t, e)
	// Another admin's change leaves the file: it does not hold their password.
	b := e.AdminLogin("bob", "owner")
	b.Get("/admin/account")
	r := b.Post("/admin/account/password", map[string]string{"password": webtest.AdminPassword, "new_password": "bob's new long passphrase", "new_password2": "bob's new long passphrase"})
	expectIn(t, r, "Password changed")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("another admin's change removed the file: %v", err)
	}
	const next = "the owner's own passphrase"
	r = a.Post("/admin/account/password", map[string]string{"password": pw, "new_password": next, "new_password2": next})
	expectStatus(t, r, http.StatusOK)
	expectIn(t, r, "The file that held your first password (owner-password.txt) was deleted.")
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the file is still there: %v", err)
	}
	if r.CountTestID(t, "owner-password-banner") != 0 {
		t.Error("a banner after the file was deleted")
	}
}

// When the file cannot be deleted the change still happens, its notice
// says so and every page shows a banner until the file is gone.
func TestOwnerPasswordFileLeftIsShown(t *testing.T) {
	e := webtest.New(t)
	a, path, pw := firstOwner(t, e)
	// An immutable file resists deletion even by root.
	if out, err := exec.Command("chattr", "+i", path).CombinedOutput(); err != nil {
		t.Skipf("chattr +i is not available here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", path).Run() })
	const next = "the owner's own passphrase"
	r := a.Post("/admin/account/password", map[string]string{"password": pw, "new_password": next, "new_password2": next})
	expectStatus(t, r, http.StatusOK)
	expectIn(t, r, "still holds your first password and could not be deleted")
	if got := a.Get("/admin/users").TestIDText(t, "owner-password-banner"); !strings.Contains(got, path) {
		t.Errorf("banner %q", got)
	}
	if err := exec.Command("chattr", "-i", path).Run(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if a.Get("/admin/users").CountTestID(t, "owner-password-banner") != 0 {
		t.Error("the banner stays after the file was deleted")
	}
}
