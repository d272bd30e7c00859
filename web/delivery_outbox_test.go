package web_test

import (
	"context"
	"testing"
	"time"

	"roster/web/webtest"
)

// A code that expires before it could be delivered is given up, and its
// text and code leave the outbox, on the console channel as on a real one.
func TestExpiredUndeliveredCodeLeavesTheOutbox(t *testing.T) {
	for _, channel := range []string{"console", "twilio"} {
		t.Run(channel, func(t *testing.T) {
			var e *webtest.Env
			if channel == "twilio" {
				e = twilioEnv(t, webtest.NewFakeHTTP(t, webtest.Reply{Status: 503, Body: `{"code":20503,"message":"down","status":503}`}))
			} else {
				e = deliveryEnv(t, nil)
			}
			e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
			if channel == "twilio" {
				e.Server.Worker().RunOnce(context.Background()) // the provider is down: retried later
			}
			e.Clock.Advance(6 * time.Minute) // past the code's 5 minutes
			e.Server.Worker().RunOnce(context.Background())
			row := lastOutbox(t, e)
			if row.State != "failed" || row.Code != "" || codeRE.MatchString(row.Body) {
				t.Errorf("%+v", row)
			}
		})
	}
}

// refuseOutboxRecords makes the database refuse to record a delivery, as a
// full disk or a restarting PostgreSQL would, until the returned func is
// called.
func refuseOutboxRecords(t *testing.T, e *webtest.Env) (allow func()) {
	t.Helper()
	db := e.Server.DB().Write
	create := []string{`CREATE TRIGGER refuse_record BEFORE UPDATE OF state ON outbox WHEN NEW.state = 'sent'
		BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`}
	drop := []string{"DROP TRIGGER refuse_record"}
	if e.Server.DB().Postgres() {
		create = []string{`CREATE FUNCTION refuse_record() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = '53100'; END $$`,
			`CREATE TRIGGER refuse_record BEFORE UPDATE ON outbox FOR EACH ROW WHEN (NEW.state = 'sent')
			EXECUTE FUNCTION refuse_record()`}
		drop = []string{"DROP TRIGGER refuse_record ON outbox", "DROP FUNCTION refuse_record()"}
	}
	for _, q := range create {
		if err := db.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	return func() {
		for _, q := range drop {
			if err := db.Exec(q).Error; err != nil {
				t.Fatal(err)
			}
		}
	}
}

// A code delivered while the database refuses to record it is not sent
// again when its claim's lease ends: the worker keeps the outcome, and
// records it once the database takes writes again.
func TestCodeWhoseDeliveryWasNotRecordedIsNotSentAgain(t *testing.T) {
	fake := webtest.NewFakeHTTP(t, webtest.Reply{Status: 201, Body: twilioCreated})
	e := twilioEnv(t, fake)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	allow := refuseOutboxRecords(t, e)
	ctx := context.Background()
	e.Server.Worker().RunOnce(ctx)   // sent; the record refused
	e.Clock.Advance(2 * time.Minute) // past the claim's lease, within the code's 5 minutes
	e.Server.Worker().RunOnce(ctx)
	if n := len(fake.Requests()); n != 1 {
		t.Fatalf("the provider got the code %d times while its delivery could not be recorded", n)
	}
	allow()
	e.Server.Worker().RunOnce(ctx)
	e.Clock.Advance(2 * time.Minute)
	e.Server.Worker().RunOnce(ctx)
	if n := len(fake.Requests()); n != 1 {
		t.Errorf("the provider got the code %d times", n)
	}
	if row := lastOutbox(t, e); row.State != "sent" {
		t.Errorf("outbox: %+v", row)
	}
	if as := attempts(t, e); len(as) != 1 || as[0].Status != "sent" {
		t.Errorf("attempts: %+v", as)
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'code_sent'"); n != 1 {
		t.Errorf("%d code_sent audit entries, want 1", n)
	}
}
