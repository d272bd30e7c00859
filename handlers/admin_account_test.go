package handlers_test

import (
	"net/http"
	"testing"

	"roster/web/webtest"
)

// A new password on the list of common passwords is refused, whatever its
// case, and so are a listed one with digits or symbols added and a listed
// one repeated; the notice says why and nothing changes.
func TestChangeOwnPasswordRefusesCommonOnes(t *testing.T) {
	e := webtest.New(t)
	a := e.AdminLogin("vic", "viewer")
	for _, common := range []string{"1qaz2wsx3edc", "QazWsxEdcRfv", "Password2024!", "  iloveyou123", "qwertyqwerty", "zzzzzzzzzzzz"} {
		r := a.HTMX("/admin/account/password", map[string]string{"password": webtest.AdminPassword, "new_password": common, "new_password2": common})
		expectStatus(t, r, http.StatusBadRequest)
		expectIn(t, r, "The new password is a common one")
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_password_changed'"); n != 0 {
		t.Errorf("%d password changes", n)
	}
	expectStatus(t, e.Browser().Login("vic", webtest.AdminPassword), http.StatusSeeOther)
	const fine = "wombat saxophone gravel"
	r := a.HTMX("/admin/account/password", map[string]string{"password": webtest.AdminPassword, "new_password": fine, "new_password2": fine})
	expectStatus(t, r, http.StatusOK)
	expectIn(t, r, "Password changed")
}
