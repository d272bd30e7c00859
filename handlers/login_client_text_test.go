package handlers_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"unicode/utf8"

	"roster/models"
	"roster/models/pgtest"
	"roster/web"
	"roster/web/webtest"
)

// verifyWithUA sends the second step of sign-in with the User-Agent header
// given as raw bytes.
func verifyWithUA(e *webtest.Env, phone, code string, ua []byte, extra map[string]any) *webtest.Response {
	e.T.Helper()
	p := webtest.LoginParams(phone)
	p["otp"] = code
	for k, v := range extra {
		p[k] = v
	}
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader([]byte(webtest.MustJSON(e.T, p))))
	req.Header.Set("Content-Type", "application/json")
	req.Header["User-Agent"] = []string{string(ua)}
	return e.Do(req)
}

// Wrong codes are counted whatever the client writes in its headers: a
// User-Agent that is not UTF-8 (which PostgreSQL refuses in a text column)
// must neither fail the request nor undo the count of tries.
func TestWrongCodesCountedWithInvalidUserAgent(t *testing.T) {
	e := webtest.New(t)
	bad := []byte("Mozilla/5.0 \xff\xfe\xc3(\x00\x1b[31m")
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	code := e.LastCode("+" + webtest.USPhone)
	for i := 0; i < 5; i++ {
		verifyWithUA(e, webtest.USPhone, webtest.WrongCode(code), bad, nil).ExpectFail(t, "BADCODE")
	}
	// Five wrong tries used the code up: the right one no longer works.
	verifyWithUA(e, webtest.USPhone, code, bad, nil).ExpectFail(t, "EXPIRED")
	if n := e.Count("SELECT attempts FROM otp_codes WHERE phone = ?", "+"+webtest.USPhone); n != 5 {
		t.Errorf("%d tries recorded, want 5", n)
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'code_failed'"); n != 5 {
		t.Errorf("%d code_failed entries, want 5", n)
	}

	// A right code with the same header and odd device text signs in; what
	// is stored is valid UTF-8 without control characters.
	e.Clock.Advance(e.Config.OTP.ResendCooldown)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	r := verifyWithUA(e, webtest.USPhone, e.LastCode("+"+webtest.USPhone), bad,
		map[string]any{"device": "phone\x00\xff", "dt": "1\x00", "appid": "com.example.app"})
	r.ExpectOK(t)
	var stored []string
	if err := e.Server.DB().Read.Raw("SELECT user_agent FROM audit_log UNION ALL SELECT user_agent FROM sessions UNION ALL SELECT device FROM sessions UNION ALL SELECT device_type FROM sessions").
		Scan(&stored).Error; err != nil {
		t.Fatal(err)
	}
	for _, s := range stored {
		if !utf8.ValidString(s) || bytes.ContainsAny([]byte(s), "\x00\x1b") {
			t.Errorf("stored %q", s)
		}
	}
}

// A wrong code stays counted even when writing its audit entry fails: the
// count commits first, and nothing written after it can undo it.
func TestWrongCodeCountedWhenItsAuditFails(t *testing.T) {
	e := webtest.New(t)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	code := e.LastCode("+" + webtest.USPhone)
	db := e.Server.DB()
	refuse := []string{`CREATE TRIGGER refuse_code_failed BEFORE INSERT ON audit_log WHEN NEW.type = 'code_failed'
		BEGIN SELECT RAISE(ABORT, 'audit refused'); END`}
	if db.Postgres() {
		refuse = []string{`CREATE FUNCTION refuse_code_failed() RETURNS trigger LANGUAGE plpgsql AS
			$$ BEGIN IF NEW.type = 'code_failed' THEN RAISE EXCEPTION 'audit refused'; END IF; RETURN NEW; END $$`,
			`CREATE TRIGGER refuse_code_failed BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_code_failed()`}
	}
	for _, q := range refuse {
		if err := db.Write.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 5; i++ {
		e.Verify(webtest.USPhone, webtest.WrongCode(code)).ExpectFail(t, "INTERNAL")
	}
	if n := e.Count("SELECT attempts FROM otp_codes WHERE phone = ?", "+"+webtest.USPhone); n != 5 {
		t.Errorf("%d tries counted, want 5", n)
	}
	e.Verify(webtest.USPhone, code).ExpectFail(t, "EXPIRED")
}

// Sign-in with arbitrary bytes in the User-Agent and the device (and user)
// name, on SQLite and (with ROSTER_TEST_DATABASE_URL) on PostgreSQL: a
// wrong code is answered BADCODE and counted, the right one signs in,
// nothing stored is invalid text, and a refused verify leaves no gap in
// the ids a client sees (users' ids, event ids).
func FuzzSignInHeaders(f *testing.F) {
	f.Add([]byte("okhttp/4.12.0"), "Pixel 8")
	f.Add([]byte("\xff\xfe\x00\x1b[2J"), "\x00")
	f.Add([]byte("Mozilla/5.0 \xc3\x28 \xe2\x82"), "\xed\xa0\x80")
	// Thousands of numbers of one country, and on PostgreSQL of one prefix:
	// the fraud guard's country and prefix limits would refuse them.
	noFraudLimits := []string{"--otp-prefix-hourly", "0", "--otp-prefix-daily", "0", "--otp-country-hourly", "0", "--otp-country-daily", "0"}
	envs := []*webtest.Env{webtest.NewPeople(f, noFraudLimits...)}
	if !pgtest.Selected() && os.Getenv("ROSTER_TEST_DATABASE_URL") != "" {
		db, err := models.OpenPostgres(context.Background(), pgtest.Fresh(f), models.PostgresPool{MaxOpen: 4, MaxIdle: 4},
			slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			f.Fatal(err)
		}
		envs = append(envs, webtest.New(f, webtest.WithArgs(append([]string{"--otp-ip-hourly", "0", "--otp-ip-daily", "0"}, noFraudLimits...)...),
			webtest.WithOptions(func(o *web.Options) { o.Database = db })))
	}
	numbers := 0
	f.Fuzz(func(t *testing.T, ua []byte, device string) {
		if bytes.ContainsAny(ua, "\r\n") {
			t.Skip("one header value never holds a line break")
		}
		for _, shared := range envs {
			e := *shared
			e.T = t
			numbers++
			phone := fmt.Sprintf("336%08d", numbers)
			p := webtest.LoginParams(phone)
			req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader([]byte(webtest.MustJSON(t, p))))
			req.Header["User-Agent"] = []string{string(ua)}
			e.Do(req).ExpectOK(t)
			code := e.LastCode("+" + phone)
			verifyWithUA(&e, phone, webtest.WrongCode(code), ua, map[string]any{"device": device}).ExpectFail(t, "BADCODE")
			if n := e.Count("SELECT attempts FROM otp_codes WHERE phone = ?", "+"+phone); n != 1 {
				t.Fatalf("%d tries counted, want 1", n)
			}
			r := verifyWithUA(&e, phone, code, ua, map[string]any{"device": device, "dt": device, "name": device})
			r.ExpectOK(t)
			if users, events := e.Count("SELECT COUNT(*) FROM users"), e.Count("SELECT COUNT(*) FROM events"); r.String("uid") != fmt.Sprint(users) ||
				e.Count("SELECT MAX(id) FROM events") != events {
				t.Fatalf("uid %s with %d users, %d events up to id %d: a gap", r.String("uid"), users, events, e.Count("SELECT MAX(id) FROM events"))
			}
			var stored []string
			if err := e.Server.DB().Read.Raw("SELECT user_agent FROM sessions WHERE id = (SELECT MAX(id) FROM sessions) UNION ALL SELECT device FROM sessions WHERE id = (SELECT MAX(id) FROM sessions) UNION ALL SELECT user_agent FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log)").
				Scan(&stored).Error; err != nil {
				t.Fatal(err)
			}
			for _, s := range stored {
				if !utf8.ValidString(s) || bytes.ContainsAny([]byte(s), "\x00") {
					t.Fatalf("stored %q", s)
				}
			}
		}
	})
}
