package handlers_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/pquerna/otp/totp"

	"roster/web/webtest"
)

// totpCode is the code an authenticator app shows for the secret at the
// test's clock.
func totpCode(t testing.TB, e *webtest.Env, secret string) string {
	t.Helper()
	code, err := totp.GenerateCode(secret, e.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// enrol turns two-factor sign-in on for the signed-in admin a, as a person
// does on the account page, and returns the key and the recovery codes.
// The clock moves past the step of the confirming code.
func enrol(t testing.TB, e *webtest.Env, a *webtest.AdminClient) (string, []string) {
	t.Helper()
	a.Get("/admin/account") // the page's CSRF token
	r := a.Post("/admin/account/2fa/setup", nil)
	expectStatus(t, r, http.StatusOK)
	secret := r.TestIDText(t, "two-factor-secret")
	if src, _ := r.TestID(t, "two-factor-qr").Attr("src"); !strings.HasPrefix(src, "data:image/png;base64,") {
		t.Fatalf("QR code src %.40q", src)
	}
	if uri, _ := r.TestID(t, "two-factor-uri").Attr("href"); !strings.HasPrefix(uri, "otpauth://totp/Roster:") || !strings.Contains(uri, "secret="+secret) {
		t.Fatalf("otpauth URI %q", uri)
	}
	r = a.Post("/admin/account/2fa/confirm", map[string]string{"password": webtest.AdminPassword, "code": totpCode(t, e, secret)})
	expectStatus(t, r, http.StatusOK)
	var codes []string
	r.TestID(t, "recovery-code").Each(func(_ int, s *goquery.Selection) { codes = append(codes, s.Text()) })
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes shown", len(codes))
	}
	e.Clock.Advance(30 * time.Second)
	return secret, codes
}

// signInWithCode signs in with the password, then gives code at the second step.
func signInWithCode(t *testing.T, e *webtest.Env, name, code string) (*webtest.AdminClient, *webtest.Response) {
	t.Helper()
	b := e.Browser()
	r := b.Login(name, webtest.AdminPassword)
	expectStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/admin/login/code" {
		t.Fatalf("after the password: sent to %q", loc)
	}
	b.Get("/admin/login/code")
	return b, b.PostForm("/admin/login/code", map[string]string{"_csrf": b.CSRF, "code": code}, nil)
}

func TestSecondFactorEnrolAndSignIn(t *testing.T) {
	e := webtest.New(t)
	a := e.AdminLogin("alice", "owner")
	expectIn(t, a.Get("/admin/account"), "Off: you sign in with your password alone.")

	// A wrong first code changes nothing.
	r := a.Post("/admin/account/2fa/setup", nil)
	secret := r.TestIDText(t, "two-factor-secret")
	wrong := "000000"
	if totpCode(t, e, secret) == wrong {
		wrong = "111111"
	}
	r = a.Post("/admin/account/2fa/confirm", map[string]string{"password": webtest.AdminPassword, "code": wrong})
	expectStatus(t, r, http.StatusBadRequest)
	expectIn(t, r, "The code does not match the key")
	if n := e.Count("SELECT COUNT(*) FROM admins WHERE totp_secret IS NOT NULL"); n != 0 {
		t.Fatalf("%d admins with a second factor after a wrong code", n)
	}

	secret, codes := enrol(t, e, a)
	expectIn(t, a.Get("/admin/account"), "10 recovery codes left")
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_2fa_enrolled' AND actor = 'admin:alice'"); n != 1 {
		t.Errorf("%d enrolments audited", n)
	}
	// At rest the key is sealed: neither its text nor its bytes are in the row.
	var sealed []byte
	if err := e.Server.DB().Read.Raw("SELECT totp_secret FROM admins WHERE name = 'alice'").Row().Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if len(sealed) < 28 || strings.Contains(string(sealed), secret) {
		t.Fatalf("stored secret %q", sealed)
	}
	if n := e.Count("SELECT COUNT(*) FROM admin_recovery_codes WHERE code_hash = ?", []byte(codes[0])); n != 0 {
		t.Fatal("a recovery code stored as it is")
	}

	// The password alone grants nothing: the half-signed-in browser is sent
	// to sign in on every page.
	b := e.Browser()
	expectStatus(t, b.Login("alice", webtest.AdminPassword), http.StatusSeeOther)
	for _, p := range []string{"/admin/", "/admin/users", "/admin/account"} {
		r := b.Get(p)
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/admin/login") {
			t.Errorf("%s with the password alone: %d %q", p, r.Status, r.Header.Get("Location"))
		}
	}
	b.Get("/admin/login/code")
	expectStatus(t, b.PostForm("/admin/login/code", map[string]string{"_csrf": "forged", "code": totpCode(t, e, secret)}, nil), http.StatusForbidden)
	code := totpCode(t, e, secret)
	r = b.PostForm("/admin/login/code", map[string]string{"_csrf": b.CSRF, "code": code[:3] + " " + code[3:]}, nil) // as apps show it
	expectStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/admin/" {
		t.Fatalf("after the code: sent to %q", loc)
	}
	expectStatus(t, b.Get("/admin/users"), http.StatusOK)

	// The same code, in the same 30 seconds, is refused to another sign-in.
	_, r = signInWithCode(t, e, "alice", code)
	expectStatus(t, r, http.StatusUnauthorized)
	expectIn(t, r, "was used before")

	// A recovery code signs in once, in any case and spacing.
	c, r := signInWithCode(t, e, "alice", " "+strings.ToUpper(codes[3])+" ")
	expectStatus(t, r, http.StatusSeeOther)
	expectStatus(t, c.Get("/admin/"), http.StatusOK)
	_, r = signInWithCode(t, e, "alice", codes[3])
	expectStatus(t, r, http.StatusUnauthorized)
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_recovery_code_used' AND detail LIKE '%9 left'"); n != 1 {
		t.Errorf("%d recovery code uses audited", n)
	}
	expectIn(t, c.Get("/admin/account"), "9 recovery codes left")
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_login' AND detail LIKE '%with an authenticator code'"); n != 1 {
		t.Errorf("%d sign-ins with a code audited", n)
	}
}

func TestSecondFactorAttemptsAndTime(t *testing.T) {
	e := webtest.New(t)
	secret, _ := enrol(t, e, e.AdminLogin("alice", "operator"))
	// The password's attempt and four wrong codes fill the five tries of
	// this name from this network: the right code is refused after them.
	b := e.Browser()
	b.Login("alice", webtest.AdminPassword)
	b.Get("/admin/login/code")
	right := totpCode(t, e, secret)
	for i := range 4 {
		wrong := []string{"123456", "654321", "111111", "222222"}[i]
		if wrong == right {
			wrong = "999999"
		}
		expectStatus(t, b.PostForm("/admin/login/code", map[string]string{"_csrf": b.CSRF, "code": wrong}, nil), http.StatusUnauthorized)
	}
	r := b.PostForm("/admin/login/code", map[string]string{"_csrf": b.CSRF, "code": right}, nil)
	expectStatus(t, r, http.StatusTooManyRequests)
	expectIn(t, r, "Too many failed sign-ins")

	// The second step waits five minutes for its code.
	e.Clock.Advance(16 * time.Minute)
	c := e.Browser()
	c.Login("alice", webtest.AdminPassword)
	c.Get("/admin/login/code")
	e.Clock.Advance(6 * time.Minute)
	r = c.PostForm("/admin/login/code", map[string]string{"_csrf": c.CSRF, "code": totpCode(t, e, secret)}, nil)
	expectStatus(t, r, http.StatusUnauthorized)
	expectTestIDs(t, r, "login-form")
	expectStatus(t, c.Get("/admin/login/code"), http.StatusSeeOther)

	// A sign-in with its code gives back both attempts: five more wrong
	// passwords are needed to lock the name again.
	_, r = signInWithCode(t, e, "alice", totpCode(t, e, secret))
	expectStatus(t, r, http.StatusSeeOther)
	if n := e.Count("SELECT COUNT(*) FROM admin_login_throttle WHERE failures > 0 AND key LIKE 'nameip:%'"); n != 0 {
		t.Errorf("%d (name, network) counters left after a full sign-in", n)
	}
}

func TestSecondFactorRecheckAndDisable(t *testing.T) {
	e := webtest.New(t)
	uid, _ := e.SignedInUser(webtest.USPhone, "phone-a")
	a := e.AdminLogin("alice", "owner")
	secret, codes := enrol(t, e, a)

	// The re-check before an action takes a code as it takes the password, once.
	code := totpCode(t, e, secret)
	r := a.Post("/admin/users/"+uid+"/block", map[string]string{"password": code})
	expectStatus(t, r, http.StatusOK)
	expectTestIDs(t, r, "notice")
	r = a.Post("/admin/users/"+uid+"/revoke-all", map[string]string{"password": code})
	expectStatus(t, r, http.StatusForbidden)
	expectIn(t, r, "Your password or authenticator code was wrong")

	// Turning it off takes the password and a code; a wrong code counts as
	// a wrong re-check (the second of three here).
	e.Clock.Advance(30 * time.Second)
	r = a.Post("/admin/account/2fa/disable", map[string]string{"password": webtest.AdminPassword, "code": "not-a-code"})
	expectStatus(t, r, http.StatusForbidden)
	expectIn(t, r, "Your password or the code was wrong")
	r = a.Post("/admin/account/2fa/disable", map[string]string{"password": webtest.AdminPassword, "code": codes[0]})
	expectStatus(t, r, http.StatusOK)
	expectIn(t, r, "Two-factor sign-in is off")
	if n := e.Count("SELECT COUNT(*) FROM admin_recovery_codes"); n != 0 {
		t.Errorf("%d recovery codes kept after turning off", n)
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_2fa_disabled'"); n != 1 {
		t.Errorf("%d disables audited", n)
	}
	expectStatus(t, e.Browser().Login("alice", webtest.AdminPassword), http.StatusSeeOther)
	r = e.Browser().Login("alice", webtest.AdminPassword)
	if loc := r.Header.Get("Location"); loc != "/admin/" {
		t.Errorf("a password alone signs in again: sent to %q", loc)
	}
}

func TestSecondFactorRequiredForEveryone(t *testing.T) {
	e := webtest.New(t)
	owner := e.AdminLogin("alice", "owner")
	// An owner without it cannot require it.
	r := owner.Post("/admin/admins/2fa", map[string]string{"required": "on", "password": webtest.AdminPassword})
	expectStatus(t, r, http.StatusConflict)
	expectIn(t, r, "Turn on your own two-factor sign-in first")
	enrol(t, e, owner)
	operator := e.AdminLogin("bob", "operator")
	r = owner.Post("/admin/admins/2fa", map[string]string{"required": "on", "password": webtest.AdminPassword})
	expectStatus(t, r, http.StatusOK)
	expectIn(t, r, "Required of every admin")
	if r.CountTestID(t, "admin-two-factor") != 1 {
		t.Errorf("the admins list marks %d admins with two-factor sign-in", r.CountTestID(t, "admin-two-factor"))
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_2fa_policy' AND actor = 'admin:alice'"); n != 1 {
		t.Errorf("%d rule changes audited", n)
	}
	// Admins without it are sent to their account page, and only there.
	for _, p := range []string{"/admin/", "/admin/users", "/admin/audit"} {
		r := operator.Get(p)
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/admin/account" {
			t.Errorf("%s: %d %q", p, r.Status, r.Header.Get("Location"))
		}
	}
	r = operator.HTMX("/admin/users/bulk", map[string]string{"action": "revoke"})
	if r.Header.Get("HX-Redirect") != "/admin/account" {
		t.Errorf("an htmx action is sent to %q", r.Header.Get("HX-Redirect"))
	}
	expectTestIDs(t, operator.Get("/admin/account"), "two-factor-required")
	enrol(t, e, operator)
	expectStatus(t, operator.Get("/admin/users"), http.StatusOK)
	// A viewer sets it up too (their one change besides their password).
	viewer := e.AdminLogin("carol", "viewer")
	expectStatus(t, viewer.Get("/admin/"), http.StatusSeeOther)
	enrol(t, e, viewer)
	expectStatus(t, viewer.Get("/admin/"), http.StatusOK)

	r = owner.Post("/admin/admins/2fa", map[string]string{"required": "off", "password": webtest.AdminPassword})
	expectIn(t, r, "Optional: each admin chooses")
}

// The field that asks for the password again before a dangerous action,
// and its refusal, name the authenticator code only to an admin who may
// give one: with two-factor sign-in on.
func TestRecheckWordingFollowsTheSecondFactor(t *testing.T) {
	e := webtest.New(t)
	uid, _ := e.SignedInUser(webtest.USPhone, "phone-a")
	plain := e.AdminLogin("olga", "operator")
	enrolled := e.AdminLogin("alice", "owner")
	enrol(t, e, enrolled)
	for _, c := range []struct {
		name    string
		a       *webtest.AdminClient
		label   string
		refusal string
	}{
		{"without two-factor sign-in", plain, "Your password", "Your password was wrong: nothing was changed."},
		{"with two-factor sign-in", enrolled, "Your password or authenticator code", "Your password or authenticator code was wrong: nothing was changed."},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := c.a.Get("/admin/users/" + uid)
			if got := strings.TrimSpace(r.TestID(t, "block-password").Parent().Text()); got != c.label {
				t.Errorf("the block form's field is labelled %q, want %q", got, c.label)
			}
			r.HTML(t).Find(`input[name="password"]`).Each(func(_ int, in *goquery.Selection) {
				if got := strings.TrimSpace(in.Parent().Text()); got != c.label {
					t.Errorf("a re-check field is labelled %q, want %q", got, c.label)
				}
			})
			r = c.a.HTMX("/admin/users/"+uid+"/block", map[string]string{"password": "000000"})
			expectStatus(t, r, http.StatusForbidden)
			if got := r.TestIDText(t, "notice-error"); got != c.refusal {
				t.Errorf("refusal %q, want %q", got, c.refusal)
			}
		})
	}
}

// A new password of one's own takes the current one: an authenticator
// code, taken in its place before other actions, is not enough here (it
// would let whoever holds the phone alone take the account over).
func TestChangeOwnPasswordTakesNoCode(t *testing.T) {
	e := webtest.New(t)
	a := e.AdminLogin("alice", "owner")
	secret, _ := enrol(t, e, a)
	e.Clock.Advance(30 * time.Second)
	const next = "wombat saxophone gravel"
	r := a.HTMX("/admin/account/password", map[string]string{"password": totpCode(t, e, secret), "new_password": next, "new_password2": next})
	expectStatus(t, r, http.StatusForbidden)
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_password_changed'"); n != 0 {
		t.Error("an authenticator code changed the password")
	}
	r = a.HTMX("/admin/account/password", map[string]string{"password": webtest.AdminPassword, "new_password": next, "new_password2": next})
	expectStatus(t, r, http.StatusOK)
	expectIn(t, r, "Password changed")
}
