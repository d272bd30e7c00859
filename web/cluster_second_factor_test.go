package web_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"roster/web/webtest"
)

// One authenticator code, sent at once to sign-ins waiting on two
// instances, signs in exactly one of them; one recovery code too.
func TestSecondFactorOnceAcrossInstances(t *testing.T) {
	a, b, _, _ := twoInstances(t)
	owner := a.AdminLogin("alice", "owner")
	owner.Get("/admin/account")
	secret := owner.Post("/admin/account/2fa/setup", nil).TestIDText(t, "two-factor-secret")
	first, err := totp.GenerateCode(secret, a.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	r := owner.Post("/admin/account/2fa/confirm", map[string]string{"password": webtest.AdminPassword, "code": first})
	codes := r.TestID(t, "recovery-code")
	recovery, recovery2 := codes.Eq(0).Text(), codes.Eq(1).Text()
	if recovery == "" || recovery2 == "" {
		t.Fatalf("no recovery codes: %d", r.Status)
	}
	// Each round: one sign-in waiting on each instance (two tries of the
	// five the name has from this network, with the two passwords': no
	// refusal comes from the throttle), the same code sent to both at once.
	rounds := []string{"", "", "", recovery, recovery2}
	for round, given := range rounds {
		for _, env := range []*webtest.Env{a, b} {
			env.Clock.Advance(16 * time.Minute) // a fresh step, and the throttle's window over
		}
		if given == "" {
			if given, err = totp.GenerateCode(secret, a.Clock.Now()); err != nil {
				t.Fatal(err)
			}
		}
		waiting := []*webtest.AdminClient{a.Browser(), b.Browser()}
		for _, c := range waiting {
			if r := c.Login("alice", webtest.AdminPassword); r.Header.Get("Location") != "/admin/login/code" {
				t.Fatalf("after the password: %d %q", r.Status, r.Header.Get("Location"))
			}
			c.Get("/admin/login/code")
		}
		statuses := make([]int, len(waiting))
		var wg sync.WaitGroup
		for i, c := range waiting {
			wg.Go(func() {
				statuses[i] = c.PostForm("/admin/login/code", map[string]string{"_csrf": c.CSRF, "code": given}, nil).Status
			})
		}
		wg.Wait()
		ok, refused := 0, 0
		for _, s := range statuses {
			switch s {
			case http.StatusSeeOther:
				ok++
			case http.StatusUnauthorized:
				refused++
			}
		}
		if ok != 1 || refused != 1 {
			t.Errorf("round %d: answers %v, want one sign-in and one refusal", round, statuses)
		}
	}
}
