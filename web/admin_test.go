package web_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"roster/web"
	"roster/web/webtest"
)

func body(r *webtest.Response) string { return string(r.Body) }

func expectStatus(t testing.TB, r *webtest.Response, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d; body %.2000s", r.Status, want, r.Body)
	}
}

func expectIn(t testing.TB, r *webtest.Response, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(body(r), s) {
			t.Errorf("page lacks %q; body %.3000s", s, r.Body)
		}
	}
}

// userID signs a number in and returns its user id (as text) and token.
func signedInUser(t testing.TB, e *webtest.Env, digits, device string) (string, string) {
	t.Helper()
	tok := e.SignIn(digits, device)
	var id string
	if err := e.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM users WHERE phone = ?", "+"+digits).Scan(&id).Error; err != nil || id == "" {
		t.Fatalf("no user for %s: %v", digits, err)
	}
	return id, tok
}

func TestFirstStartCreatesOwnerOnce(t *testing.T) {
	e := webtest.New(t)
	// The password is in a file of mode 0600 whose path is logged; the log
	// never holds the password.
	path := filepath.Join(e.DataDir, "owner-password.txt")
	if !strings.Contains(e.Logs(), "password_file="+path) {
		t.Fatalf("the password file is not named in the log: %s", e.Logs())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("password file mode %o", fi.Mode().Perm())
	}
	pw := strings.TrimSpace(string(raw))
	if len(pw) < 16 || strings.Contains(e.Logs(), pw) {
		t.Errorf("password %d characters, in the log: %v", len(pw), strings.Contains(e.Logs(), pw))
	}
	a := e.Browser()
	r := a.Login("admin", pw)
	expectStatus(t, r, http.StatusSeeOther)
	if r.Header.Get("Location") != "/admin/" {
		t.Errorf("redirect to %q", r.Header.Get("Location"))
	}
	r = a.Get("/admin/")
	expectIn(t, r, "Overview")
	if name := r.TestIDText(t, "admin-name"); name != "admin" {
		t.Errorf("signed in as %q", name)
	}
}

func TestOwnerPasswordFromEnvironment(t *testing.T) {
	const pw = "from the environment 123"
	e := webtest.New(t, webtest.WithOptions(func(o *web.Options) {
		o.Getenv = func(k string) string {
			if k == "ROSTER_ADMIN_PASSWORD" {
				return pw
			}
			return ""
		}
	}))
	if strings.Contains(e.Logs(), pw) || strings.Contains(e.Logs(), "password=") {
		t.Error("a password from the environment must not be logged")
	}
	expectStatus(t, e.Browser().Login("admin", pw), http.StatusSeeOther)
}

func TestSessionCookie(t *testing.T) {
	e := webtest.New(t)
	e.NewAdmin("alice", "owner")
	a := e.Browser()
	form := a.Get("/admin/login")
	before := a.Cookies["roster_admin"]
	if before == "" {
		t.Fatalf("no cookie with the sign-in form: %v", form.Header)
	}
	r := a.Login("alice", webtest.AdminPassword)
	sc := r.Header.Get("Set-Cookie")
	for _, want := range []string{"roster_admin=", "HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=43200"} {
		if !strings.Contains(sc, want) {
			t.Errorf("cookie %q lacks %q", sc, want)
		}
	}
	if strings.Contains(sc, "Secure") {
		t.Errorf("Secure cookie over plain http: %q", sc)
	}
	if a.Cookies["roster_admin"] == before {
		t.Error("the cookie was not replaced at sign-in")
	}
	if n := e.Count("SELECT COUNT(*) FROM admin_sessions"); n != 1 {
		t.Errorf("%d admin sessions", n)
	}
	// The session id is stored only hashed; the cookie value is encrypted.
	if strings.Contains(e.Logs(), a.Cookies["roster_admin"]) {
		t.Error("the cookie was logged")
	}

	tls := webtest.New(t, webtest.WithArgs("--base-url", "https://roster.example"))
	tls.NewAdmin("alice", "owner")
	b := tls.Browser()
	r = b.Get("/admin/login")
	sc = r.Header.Get("Set-Cookie")
	if !strings.HasPrefix(sc, "__Host-roster_admin=") || !strings.Contains(sc, "Secure") {
		t.Errorf("over TLS the cookie must be __Host- and Secure: %q", sc)
	}
}

func TestMobileAPINeedsNoCSRF(t *testing.T) {
	e := webtest.New(t)
	e.AdminLogin("alice", "owner")
	// A plain form post to the API (no token, no cookie) still works.
	r := e.Form("/api.php", map[string]string{"op": "login", "appid": "a", "phone": webtest.USPhone})
	r.ExpectOK(t)
}
