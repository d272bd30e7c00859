package web_test

import (
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/web"
	"roster/web/webtest"
)

// loginFrom signs in as a browser behind the trusted proxy, from ip.
func loginFrom(e *webtest.Env, ip, name, password string) *webtest.Response {
	a := e.Browser()
	a.Get("/admin/login")
	return a.PostForm("/admin/login", map[string]string{"name": name, "password": password}, map[string]string{"X-Forwarded-For": ip})
}

// Concurrent wrong passwords are counted before bcrypt runs: of 50 at
// once, only the limit's worth are checked at all.
func TestAdminLoginThrottleIsAtomic(t *testing.T) {
	e := webtest.New(t, webtest.WithOptions(func(o *web.Options) { o.BcryptCost = 8 }))
	e.NewAdmin("alice", "owner")
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { e.Browser().Login("alice", "wrong password!") })
	}
	wg.Wait()
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_login_failed' AND detail = 'wrong name or password'"); n != 5 {
		t.Errorf("%d of 50 parallel wrong passwords were checked, want 5", n)
	}
	// The throttled ones, all from one network, are counted on one row.
	if n := e.Count("SELECT SUM(1 + repeats) FROM audit_log WHERE type = 'admin_login_failed' AND detail = 'throttled'"); n != 45 {
		t.Errorf("%d throttled", n)
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_login_failed' AND detail = 'throttled'"); n != 1 {
		t.Errorf("%d rows for 45 throttled sign-ins from one network", n)
	}
}

// A sign-in form is good for one try: posting it again (its cookie and
// token kept) is refused before the password is checked or anything is
// counted, as is a form older than an hour.
func TestAdminLoginFormIsSingleUse(t *testing.T) {
	e := webtest.New(t)
	e.NewAdmin("alice", "owner")
	a := e.Browser()
	a.Get("/admin/login")
	cookies, token := maps.Clone(a.Cookies), a.CSRF
	expectStatus(t, a.PostForm("/admin/login", map[string]string{"name": "alice", "password": "wrong password!"}, nil), http.StatusUnauthorized)
	for range 3 {
		a.Cookies = maps.Clone(cookies)
		r := a.PostForm("/admin/login", map[string]string{"name": "alice", "password": webtest.AdminPassword, "_csrf": token}, nil)
		expectStatus(t, r, http.StatusForbidden)
		if !strings.Contains(string(r.Body), "expired") {
			t.Errorf("a replayed form: %s", r.Body)
		}
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type LIKE 'admin_login%'"); n != 1 {
		t.Errorf("%d audit entries for one try and three replays, want 1", n)
	}
	if n := e.Count("SELECT failures FROM admin_login_throttle WHERE key LIKE 'nameip:alice|%'"); n != 1 {
		t.Errorf("the throttle counted %d tries, want 1", n)
	}
	a.Get("/admin/login")
	e.Clock.Advance(61 * time.Minute)
	expectStatus(t, a.PostForm("/admin/login", map[string]string{"name": "alice", "password": webtest.AdminPassword}, nil), http.StatusForbidden)
	// A fresh form signs in.
	expectStatus(t, a.Login("alice", webtest.AdminPassword), http.StatusSeeOther)
}

// Failing from one network locks that network out, not the owner
// signing in from elsewhere.
func TestAdminLoginLocksPerNameAndNetwork(t *testing.T) {
	e := webtest.New(t, webtest.WithArgs("--trusted-proxies", "0.0.0.0"))
	e.NewAdmin("alice", "owner")
	for range 5 {
		expectStatus(t, loginFrom(e, "203.0.113.7", "alice", "wrong password!"), http.StatusUnauthorized)
	}
	expectStatus(t, loginFrom(e, "203.0.113.7", "alice", webtest.AdminPassword), http.StatusTooManyRequests)
	expectStatus(t, loginFrom(e, "198.51.100.1", "alice", webtest.AdminPassword), http.StatusSeeOther)

	// Many names from one network: the network is locked for every name.
	for i := range 20 {
		loginFrom(e, "203.0.113.50", fmt.Sprintf("guess%d", i), "wrong password!")
	}
	expectStatus(t, loginFrom(e, "203.0.113.50", "alice", webtest.AdminPassword), http.StatusTooManyRequests)
	expectStatus(t, loginFrom(e, "198.51.100.1", "alice", webtest.AdminPassword), http.StatusSeeOther)

	// A success gives its count back: a lock is never set by good sign-ins.
	for range 30 {
		expectStatus(t, loginFrom(e, "198.51.100.2", "alice", webtest.AdminPassword), http.StatusSeeOther)
	}
}

// Wrong passwords for the owner's name from many networks slow the name
// down but never lock it: the owner's right password passes from a network
// it signed in from before at once, and from a new one after the wait.
func TestOwnerNotLockedOutFromManyNetworks(t *testing.T) {
	e := webtest.New(t, webtest.WithArgs("--trusted-proxies", "0.0.0.0"))
	e.NewAdmin("alice", "owner")
	const home = "192.0.2.10"
	expectStatus(t, loginFrom(e, home, "alice", webtest.AdminPassword), http.StatusSeeOther)
	laptop := e.Browser()
	laptop.Get("/admin/login")
	expectStatus(t, laptop.PostForm("/admin/login", map[string]string{"name": "alice", "password": webtest.AdminPassword},
		map[string]string{"X-Forwarded-For": "192.0.2.77"}), http.StatusSeeOther)
	e.Clock.Advance(time.Hour) // both sessions have ended
	checked := func() int64 {
		return e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_login_failed' AND detail = 'wrong name or password'")
	}
	// 21 networks, 5 wrong passwords each, one a second.
	for n := range 21 {
		for range 5 {
			loginFrom(e, fmt.Sprintf("198.51.100.%d", n+1), "alice", "wrong password!")
			e.Clock.Advance(time.Second)
		}
	}
	// Slowed: five free tries, then waits of 1, 2, 4, 8, 16, 32 and 60 s
	// between checked ones: in those 105 s, the tries at 0-4, 5, 6, 8, 12,
	// 20, 36 and 68 s were checked, 12 of the 105.
	if n := checked(); n != 12 {
		t.Errorf("%d of 105 wrong passwords from 21 networks were checked", n)
	}
	expectStatus(t, loginFrom(e, home, "alice", webtest.AdminPassword), http.StatusSeeOther)
	// The laptop signed in before: from a network it never used, it does
	// not wait either.
	laptop.Get("/admin/login")
	expectStatus(t, laptop.PostForm("/admin/login", map[string]string{"name": "alice", "password": webtest.AdminPassword},
		map[string]string{"X-Forwarded-For": "203.0.113.150"}), http.StatusSeeOther)
	r := loginFrom(e, "203.0.113.99", "alice", webtest.AdminPassword)
	expectStatus(t, r, http.StatusTooManyRequests)
	e.Clock.Advance(time.Minute)
	expectStatus(t, loginFrom(e, "203.0.113.99", "alice", webtest.AdminPassword), http.StatusSeeOther)
	// A network that signed in before still needs the right password.
	before := checked()
	expectStatus(t, loginFrom(e, home, "alice", "wrong password!"), http.StatusUnauthorized)
	if checked() != before+1 {
		t.Error("a wrong password from a known network was not checked and audited")
	}
}

// The first owner's name can be chosen, and the sign-in page names nobody.
func TestOwnerNameFromEnvironment(t *testing.T) {
	e := webtest.New(t, webtest.WithOptions(func(o *web.Options) {
		o.Getenv = func(k string) string {
			switch k {
			case "ROSTER_ADMIN_NAME":
				return "chief"
			case "ROSTER_ADMIN_PASSWORD":
				return "from the environment 123"
			}
			return ""
		}
	}))
	expectStatus(t, e.Browser().Login("chief", "from the environment 123"), http.StatusSeeOther)
	expectStatus(t, e.Browser().Login("admin", "from the environment 123"), http.StatusUnauthorized)
	page := body(e.Browser().Get("/admin/login"))
	if strings.Contains(page, "chief") || strings.Contains(page, "<code>admin</code>") {
		t.Errorf("the sign-in page names the owner: %s", page)
	}
}
