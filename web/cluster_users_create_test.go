package web_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"roster/web/webtest"
)

// An administrator creating a user on one instance while the number's
// owner signs in on the other: one account either way, never an error.
// Either the creation comes first (the sign-in then takes the account and
// is its join) or the sign-in does (the creation is refused, naming it);
// the join is announced once.
func TestCreateUserRacingSignInAcrossInstances(t *testing.T) {
	a, b, _, _ := twoInstances(t)
	admin := a.AdminLogin("creator", "operator")
	const numbers = 8
	for i := range numbers {
		phone := fmt.Sprintf("120155506%02d", i)
		b.JSON(webtest.LoginParams(phone)).ExpectOK(t)
		code := b.LastCode("+" + phone)
		var wg sync.WaitGroup
		wg.Go(func() {
			r := admin.Post("/admin/users", map[string]string{"phone": "+" + phone, "name": "Made", "password": webtest.AdminPassword})
			if r.Status != http.StatusOK && r.Status != http.StatusConflict {
				t.Errorf("creating %s: status %d", phone, r.Status)
			}
		})
		wg.Go(func() {
			r := b.JSON(map[string]any{"op": "login", "appid": "test.app", "phone": phone, "otp": code, "device": "d", "dt": "1"})
			if r.String("result") != "OK" {
				t.Errorf("signing in %s: %s", phone, r.Body)
			}
		})
		wg.Wait()
	}
	if n := a.Count("SELECT COUNT(*) FROM users WHERE phone LIKE '+120155506%' AND NOT awaiting_signin AND phone_hash IS NOT NULL"); n != numbers {
		t.Errorf("%d signed-in accounts for %d numbers", n, numbers)
	}
	if n := a.Count("SELECT COUNT(*) FROM users WHERE phone LIKE '+120155506%'"); n != numbers {
		t.Errorf("%d accounts for %d numbers", n, numbers)
	}
	if n := a.Count("SELECT COUNT(*) FROM events e JOIN users u ON u.id = e.user_id WHERE e.type = 'joined' AND u.phone LIKE '+120155506%'"); n != numbers {
		t.Errorf("%d join notices for %d numbers", n, numbers)
	}
}
