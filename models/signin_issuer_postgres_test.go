package models

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// issuerStub hands out tokens, calling onIssue first (while the sign-in
// waits for it, between its two transactions).
type issuerStub struct {
	issued  int
	onIssue func()
}

func (s *issuerStub) IssueToken(ctx context.Context, req IssueRequest) (IssuedToken, error) {
	s.issued++
	if s.onIssue != nil {
		s.onIssue()
	}
	return IssuedToken{UID: fmt.Sprint(5300 + s.issued), Token: fmt.Sprintf("issued-token-%d", s.issued)}, nil
}

// A sign-in through the issuer whose second transaction is run again after
// a lost race answers what the committed run found: blocked while the
// issuer was asked, the first run refuses (and queues the token's
// deletion), then loses a deadlock; the user is unblocked meanwhile, so the
// run that commits signs in, and the sign-in is answered, not BLOCKED.
func TestPostgresIssuerSignInRunAgainAnswersTheCommittedRun(t *testing.T) {
	db := openTestPostgres(t, PostgresPool{MaxOpen: 6, MaxIdle: 6})
	ctx := context.Background()
	clock := NewFakeClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	issuer := &issuerStub{}
	s := NewSignIn(db, clock, SignInConfig{
		Policy: DefaultOTPPolicy(), CodeKey: []byte("test-key-test-key-test-key-32byt"),
		DemoCode: "123456", TokenTTL: time.Hour, Channel: "console",
		Message: func(code string) string { return code },
		Issuer:  issuer,
	})
	p := Phone{E164: "+33612345678", CountryCode: 33}
	cl := ClientInfo{UserAgent: "test", Device: "d"}
	if err := s.RequestCode(ctx, p, cl); err != nil {
		t.Fatal(err)
	}
	if _, err := s.VerifyCode(ctx, p, "123456", "Ann", cl); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if err := s.RequestCode(ctx, p, cl); err != nil {
		t.Fatal(err)
	}

	// The first token deletion queued waits for the test's lock, then
	// fails as a deadlock victim does (sequences are not rolled back: once).
	for _, q := range []string{
		"CREATE SEQUENCE fault_once",
		`CREATE FUNCTION fault_once() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
			IF NEW.kind = 'mesibo_revoke' AND nextval('fault_once') = 1 THEN
				PERFORM pg_advisory_xact_lock(4242);
				RAISE EXCEPTION 'injected deadlock' USING ERRCODE = '40P01';
			END IF;
			RETURN NEW;
		END $$`,
		"CREATE TRIGGER fault_once BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION fault_once()",
	} {
		if err := db.Write.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	pool, err := db.Write.DB()
	if err != nil {
		t.Fatal(err)
	}
	holder, err := pool.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(ctx, "SELECT pg_advisory_lock(4242)"); err != nil {
		t.Fatal(err)
	}
	// Blocked while the issuer is asked.
	issuer.onIssue = func() {
		if err := db.Write.Exec("UPDATE users SET blocked_until = ? WHERE phone = ?", BlockedForever, p.E164).Error; err != nil {
			t.Error(err)
		}
	}
	type answer struct {
		res *SignInResult
		err error
	}
	answered := make(chan answer, 1)
	go func() {
		res, err := s.VerifyCode(ctx, p, "123456", "Ann", cl)
		answered <- answer{res, err}
	}()
	waitFor(t, db, "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
	// Unblocked: the update waits for the refusing run's row lock and
	// commits once that run is rolled back, before the next run reads.
	unblocked := make(chan error, 1)
	go func() {
		unblocked <- db.Write.Exec("UPDATE users SET blocked_until = NULL WHERE phone = ?", p.E164).Error
	}()
	waitFor(t, db, "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted")
	if _, err := holder.ExecContext(ctx, "SELECT pg_advisory_unlock(4242)"); err != nil {
		t.Fatal(err)
	}
	a := <-answered
	if err := <-unblocked; err != nil {
		t.Fatal(err)
	}
	if a.err != nil || a.res == nil || a.res.Token != "issued-token-2" {
		t.Fatalf("sign-in answered %+v, %v; want the committed sign-in", a.res, a.err)
	}
	var live int64
	if err := db.Read.Raw("SELECT COUNT(*) FROM sessions WHERE token_hash = ? AND revoked_at IS NULL", HashToken("issued-token-2")).Scan(&live).Error; err != nil || live != 1 {
		t.Errorf("session of the answered token: %d (%v)", live, err)
	}
}

// waitFor waits until the query counts at least one row.
func waitFor(t *testing.T, db *DB, query string) {
	t.Helper()
	for range 2000 {
		var n int64
		if err := db.Read.Raw(query).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("never true: %s", query)
}
