package handlers_test

// Sign-in abuse: test numbers and demo-code mode under the guard, blocked
// accounts that cannot be probed, and the client IP behind proxies.

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"roster/web/webtest"
)

// Wrong codes for a test number count toward the per-phone lock like real
// ones: a fixed code must not be guessable at leisure.
func TestTestNumberWrongCodesLock(t *testing.T) {
	e := webtest.New(t, webtest.WithArgs("--test-numbers", "+1 555 010 0999:12345678"))
	for i := 1; i < 10; i++ {
		e.Verify("15550100999", fmt.Sprintf("%08d", i)).ExpectFail(t, "BADCODE")
	}
	e.Verify("15550100999", "00000010").ExpectFail(t, "LOCKED")
	e.Verify("15550100999", "12345678").ExpectFail(t, "LOCKED") // the right code too, while locked
	e.JSON(webtest.LoginParams("15550100999")).ExpectOK(t)      // asking stays free
	e.Clock.Advance(time.Hour + time.Second)
	e.Verify("15550100999", "12345678").ExpectOK(t)
	// A right code resets the count.
	for i := 1; i < 10; i++ {
		e.Verify("15550100999", fmt.Sprintf("%08d", i)).ExpectFail(t, "BADCODE")
	}
	e.Verify("15550100999", "12345678").ExpectOK(t)
	e.Verify("15550100999", "00000001").ExpectFail(t, "BADCODE")
}

// A test number's fixed code has no other bound on guesses: its lock counts
// wrong codes from every network together.
func TestTestNumberLockSpansNetworks(t *testing.T) {
	e := webtest.New(t, webtest.WithArgs("--test-numbers", "+1 555 010 0999:12345678", "--trusted-proxies", "0.0.0.0"))
	for i := 1; i < 10; i++ {
		loginFrom(e, fmt.Sprintf("198.51.100.%d", i), "15550100999", fmt.Sprintf("%08d", i)).ExpectFail(t, "BADCODE")
	}
	loginFrom(e, "198.51.100.10", "15550100999", "00000010").ExpectFail(t, "LOCKED")
	loginFrom(e, "203.0.113.9", "15550100999", "12345678").ExpectFail(t, "LOCKED")
}

// A test number in an assigned range may be someone's real number: warn.
func TestTestNumberInRealRangeWarns(t *testing.T) {
	e := webtest.New(t, webtest.WithArgs("--test-numbers", "+1 201 555 0123:12345678"))
	if !strings.Contains(e.Logs(), "a test number is in an assigned range") || strings.Contains(e.Logs(), "12345678") {
		t.Errorf("no warning (or the code logged): %s", e.Logs())
	}
}

// The demo code is the same for every number: wrong guesses spread over
// many numbers are counted together and lock every number.
func TestDemoCodeGlobalLock(t *testing.T) {
	e := webtest.New(t, webtest.WithArgs("--demo-code", "42424242", "--otp-lock-after", "3", "--otp-max-attempts", "3", "--otp-ip-hourly", "0", "--otp-ip-daily", "0"))
	// 3 x 10 = 30 wrong codes over all numbers lock them all; 2 per number
	// stay under the per-number lock.
	for i := 0; i < 15; i++ {
		phone := fmt.Sprintf("120155501%02d", i)
		e.JSON(webtest.LoginParams(phone)).ExpectOK(t)
		e.Verify(phone, "11111111").ExpectFail(t, "BADCODE")
		r := e.Verify(phone, "22222222")
		if i < 14 {
			r.ExpectFail(t, "BADCODE")
		} else {
			r.ExpectFail(t, "LOCKED")
		}
	}
	fresh := "12015550199"
	e.JSON(webtest.LoginParams(fresh)).ExpectFail(t, "LOCKED")
	e.Verify(fresh, "42424242").ExpectFail(t, "LOCKED")
	e.Clock.Advance(time.Hour + time.Second)
	e.JSON(webtest.LoginParams(fresh)).ExpectOK(t)
	e.Verify(fresh, "42424242").ExpectOK(t)
}

// A blocked test number learns it only from the right code too.
func TestBlockedTestNumber(t *testing.T) {
	e := webtest.New(t, webtest.WithArgs("--test-numbers", "+1 555 010 0999:12345678"))
	e.Verify("15550100999", "12345678").ExpectOK(t)
	if err := e.Server.DB().Write.Exec("UPDATE users SET blocked_until = ?", e.Clock.Now().Add(time.Hour).UnixMilli()).Error; err != nil {
		t.Fatal(err)
	}
	e.JSON(webtest.LoginParams("15550100999")).ExpectOK(t)
	e.Verify("15550100999", "11111111").ExpectFail(t, "BADCODE")
	e.Verify("15550100999", "12345678").ExpectFail(t, "BLOCKED")
}

// Behind a trusted proxy, the client is the rightmost address the proxy
// appended: what the client wrote itself to the left of it changes nothing.
func TestForwardedForSpoofingBehindTrustedProxy(t *testing.T) {
	e := webtest.New(t, webtest.WithArgs("--trusted-proxies", "0.0.0.0,10.0.0.0/8", "--otp-ip-hourly", "3"))
	from := func(xff, phone string) *webtest.Response {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(webtest.MustJSON(t, webtest.LoginParams(phone))))
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		return e.Do(req)
	}
	accepted := 0
	for i := 0; i < 10; i++ {
		// A fresh forged address every time, then the proxy chain's own entries.
		if r := from(fmt.Sprintf("198.51.100.%d, 203.0.113.7, 10.1.2.3", i), fmt.Sprintf("120155501%02d", i)); r.String("result") == "OK" {
			accepted++
		}
	}
	if accepted != 3 {
		t.Errorf("%d of 10 code requests accepted against a per-IP limit of 3", accepted)
	}
	if n := e.Count("SELECT COUNT(*) FROM otp_codes WHERE network = '203.0.113.7'"); n != 3 {
		t.Errorf("%d codes recorded for the client", n)
	}
	// No header at all: the socket's address, never an empty key.
	from("", "12015550150").ExpectOK(t)
	if n := e.Count("SELECT COUNT(*) FROM otp_codes WHERE network = ''"); n != 0 {
		t.Errorf("%d codes with an empty IP", n)
	}
	// Nonsense from the proxy: the proxy's own address, not the nonsense.
	from("junk", "12015550151").ExpectOK(t)
	if n := e.Count("SELECT COUNT(*) FROM otp_codes WHERE network = 'junk'"); n != 0 {
		t.Error("an invalid forwarded address was recorded")
	}
	// IPv6 clients are counted per /64: rotating the interface id is no escape.
	for i := 0; i < 4; i++ {
		r := from(fmt.Sprintf("2001:db8:1:2::%x", i+1), fmt.Sprintf("120155502%02d", i))
		if i < 3 {
			r.ExpectOK(t)
		} else {
			r.ExpectFail(t, "RATELIMIT")
		}
	}
	from("2001:db8:1:3::1", "12015550299").ExpectOK(t) // the next /64 is someone else
}

// Several requests on one keep-alive connection from a trusted proxy each
// get their own client IP (fasthttp keeps a replaced remote address for the
// whole connection: it must be derived from the socket every time).
func TestClientIPPerRequestOnKeepAlive(t *testing.T) {
	e := webtest.New(t, webtest.WithArgs("--trusted-proxies", "127.0.0.1", "--otp-ip-hourly", "0"))
	base := e.Listen()
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	for i, xff := range []string{"203.0.113.7", "203.0.113.8", ""} {
		req, _ := http.NewRequest(http.MethodPost, base+"/", strings.NewReader(webtest.MustJSON(t, webtest.LoginParams(fmt.Sprintf("120155504%02d", i)))))
		req.Header.Set("Content-Type", "application/json")
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body) // read to the end: the connection is reused
		res.Body.Close()
	}
	for i, want := range []string{"203.0.113.7", "203.0.113.8", "127.0.0.1"} {
		if n := e.Count("SELECT COUNT(*) FROM otp_codes WHERE phone = ? AND network = ?", fmt.Sprintf("+120155504%02d", i), want); n != 1 {
			t.Errorf("request %d: not recorded from %s", i, want)
		}
	}
}

// loginFrom sends a sign-in step from a client network (behind the test's
// trusted proxy): a code request, or a verify when code is set.
func loginFrom(e *webtest.Env, ip, phone, code string) *webtest.Response {
	e.T.Helper()
	p := webtest.LoginParams(phone)
	if code != "" {
		p["otp"] = code
	}
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(webtest.MustJSON(e.T, p)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", ip)
	return e.Do(req)
}

// Wrong codes lock the number for the network that guessed, not for its
// owner elsewhere.
func TestStrangerCannotLockNumberForOwner(t *testing.T) {
	e := webtest.New(t, webtest.WithArgs("--trusted-proxies", "0.0.0.0"))
	const stranger, owner = "198.51.100.7", "203.0.113.9"
	for round := 0; round < 2; round++ {
		loginFrom(e, stranger, webtest.USPhone, "").ExpectOK(t)
		code := e.LastCode("+" + webtest.USPhone)
		for i := 0; i < 5; i++ {
			r := loginFrom(e, stranger, webtest.USPhone, webtest.WrongCode(code))
			if round == 1 && i == 4 {
				r.ExpectFail(t, "LOCKED")
			} else {
				r.ExpectFail(t, "BADCODE")
			}
		}
		e.Clock.Advance(31 * time.Second)
	}
	loginFrom(e, stranger, webtest.USPhone, "").ExpectFail(t, "LOCKED")
	// The owner asks for a code from home and signs in.
	loginFrom(e, owner, webtest.USPhone, "").ExpectOK(t)
	loginFrom(e, owner, webtest.USPhone, e.LastCode("+"+webtest.USPhone)).ExpectOK(t)
	// The owner's success gives the stranger no fresh tries.
	loginFrom(e, stranger, webtest.USPhone, "").ExpectFail(t, "LOCKED")
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'phone_locked' AND phone = ? AND ip = ?", "+"+webtest.USPhone, stranger); n != 1 {
		t.Errorf("%d phone_locked entries for the stranger", n)
	}
}

// Strangers asking for codes they never see use up the number's codes for
// networks that never signed it in, but not for a network its owner signed
// in from before.
func TestStrangersCannotUseUpOwnersCodes(t *testing.T) {
	e := webtest.New(t, webtest.WithArgs("--trusted-proxies", "0.0.0.0"))
	const home, elsewhere = "203.0.113.9", "192.0.2.44"
	loginFrom(e, home, webtest.USPhone, "").ExpectOK(t)
	loginFrom(e, home, webtest.USPhone, e.LastCode("+"+webtest.USPhone)).ExpectOK(t)
	e.Clock.Advance(25 * time.Hour)
	// Ten strangers, each from a network of its own, 13 minutes apart (under
	// the hourly limit of 5), use up the day's 10 codes.
	for i := 0; i < 10; i++ {
		loginFrom(e, fmt.Sprintf("198.51.100.%d", i+1), webtest.USPhone, "").ExpectOK(t)
		e.Clock.Advance(13 * time.Minute)
	}
	loginFrom(e, "198.51.100.77", webtest.USPhone, "").ExpectFail(t, "RATELIMIT")
	loginFrom(e, elsewhere, webtest.USPhone, "").ExpectFail(t, "RATELIMIT")
	// From home the owner still gets a code, and signs in with it.
	loginFrom(e, home, webtest.USPhone, "").ExpectOK(t)
	loginFrom(e, home, webtest.USPhone, e.LastCode("+"+webtest.USPhone)).ExpectOK(t)
	// Home's own codes are still limited.
	for i := 0; i < 4; i++ {
		e.Clock.Advance(31 * time.Second)
		loginFrom(e, home, webtest.USPhone, "").ExpectOK(t)
	}
	e.Clock.Advance(31 * time.Second)
	loginFrom(e, home, webtest.USPhone, "").ExpectFail(t, "RATELIMIT")
}
