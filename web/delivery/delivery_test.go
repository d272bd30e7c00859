package delivery_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"roster/models"
	"roster/web/delivery"
)

// fakeSender is a channel at the edge of the world: it records what it was
// asked to send and fails as scripted.
type fakeSender struct {
	name  string
	sent  []delivery.Message
	fails []error // returned by the next calls, in order; nil = success
}

func (f *fakeSender) Name() string { return f.name }

func (f *fakeSender) Send(_ context.Context, m delivery.Message) (delivery.Receipt, error) {
	f.sent = append(f.sent, m)
	if len(f.fails) > 0 {
		err := f.fails[0]
		f.fails = f.fails[1:]
		return delivery.Receipt{}, err
	}
	return delivery.Receipt{}, nil
}

type rig struct {
	db     *models.DB
	clock  *models.FakeClock
	outbox *models.Outbox
	worker *delivery.Worker
}

func newRig(t *testing.T, senders ...delivery.Sender) *rig {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := models.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := models.NewFakeClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	ob := models.NewOutbox(db, clock, clock, time.Minute, "console")
	cfg := delivery.DefaultWorkerConfig()
	return &rig{db: db, clock: clock, outbox: ob, worker: delivery.NewWorker(ob, clock, log, cfg, senders...)}
}

func (r *rig) enqueue(t *testing.T, channel, body string) int64 {
	t.Helper()
	now := r.clock.Now().UnixMilli()
	m := &models.OutboxMessage{Channel: channel, Kind: models.OutboxKindOTP, Recipient: "+12015550123", Body: body, State: models.OutboxPending,
		CreatedAt: now, NextAttemptAt: now}
	if err := r.db.Write.Create(m).Error; err != nil {
		t.Fatal(err)
	}
	return m.ID
}

func (r *rig) row(t *testing.T, id int64) models.OutboxMessage {
	t.Helper()
	var m models.OutboxMessage
	if err := r.db.Read.Take(&m, id).Error; err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTransientFailureIsRetriedWithBackoff(t *testing.T) {
	sms := &fakeSender{name: "sms", fails: []error{errors.New("gateway busy"), errors.New("gateway busy")}}
	r := newRig(t, sms)
	id := r.enqueue(t, "sms", "123456 is your code")
	ctx := context.Background()

	r.worker.RunOnce(ctx)
	m := r.row(t, id)
	if m.State != models.OutboxPending || m.Attempts != 1 || m.LastError != "gateway busy" {
		t.Fatalf("after one failure: %+v", m)
	}
	wait := time.Duration(m.NextAttemptAt-r.clock.Now().UnixMilli()) * time.Millisecond
	if wait < time.Second || wait > 2*time.Second {
		t.Errorf("first backoff %v, want 1-2 s", wait)
	}
	if n := r.worker.RunOnce(ctx); n != 0 {
		t.Error("retried before the backoff ended")
	}
	r.clock.Advance(wait)
	r.worker.RunOnce(ctx)
	m = r.row(t, id)
	wait2 := time.Duration(m.NextAttemptAt-r.clock.Now().UnixMilli()) * time.Millisecond
	if m.Attempts != 2 || wait2 < 2*time.Second || wait2 > 4*time.Second {
		t.Errorf("second backoff %v after %d attempts, want 2-4 s", wait2, m.Attempts)
	}
	r.clock.Advance(wait2)
	r.worker.RunOnce(ctx)
	m = r.row(t, id)
	if m.State != models.OutboxSent || m.Attempts != 3 || m.SentAt == nil || m.LastError != "" {
		t.Errorf("after success: %+v", m)
	}
	if len(sms.sent) != 3 || sms.sent[2].Body != "123456 is your code" || sms.sent[2].Recipient != "+12015550123" {
		t.Errorf("sent %+v", sms.sent)
	}
	// A real channel's text does not stay readable once delivered.
	if m.Body == "123456 is your code" {
		t.Error("the code stays readable in the outbox after delivery")
	}
}

func TestPermanentFailureStops(t *testing.T) {
	sms := &fakeSender{name: "sms", fails: []error{&delivery.PermanentError{Err: errors.New("21211: invalid 'To' number")}}}
	r := newRig(t, sms)
	id := r.enqueue(t, "sms", "secret")
	r.worker.RunOnce(context.Background())
	m := r.row(t, id)
	if m.State != models.OutboxFailed || m.LastError != "21211: invalid 'To' number" || m.Body == "secret" {
		t.Errorf("%+v", m)
	}
	var n int64
	r.db.Read.Raw("SELECT COUNT(*) FROM audit_log WHERE type = ? AND detail LIKE '%21211%'", models.EventCodeSendFailed).Scan(&n)
	if n != 1 {
		t.Error("final failure not audited")
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	fails := make([]error, 10)
	for i := range fails {
		fails[i] = errors.New("timeout")
	}
	sms := &fakeSender{name: "sms", fails: fails}
	r := newRig(t, sms)
	id := r.enqueue(t, "sms", "x")
	for i := 0; i < 10; i++ {
		r.worker.RunOnce(context.Background())
		r.clock.Advance(10 * time.Minute)
	}
	m := r.row(t, id)
	if m.State != models.OutboxFailed || m.Attempts != delivery.DefaultWorkerConfig().MaxAttempts {
		t.Errorf("%+v", m)
	}
}

func TestUnknownChannelFails(t *testing.T) {
	r := newRig(t, &fakeSender{name: "sms"})
	id := r.enqueue(t, "pigeon", "x")
	r.worker.RunOnce(context.Background())
	if m := r.row(t, id); m.State != models.OutboxFailed {
		t.Errorf("%+v", m)
	}
}

// A sender that died mid-send gives its claim back when the lease runs out.
func TestExpiredLeaseIsReclaimed(t *testing.T) {
	console := &fakeSender{name: "console"}
	r := newRig(t, console)
	id := r.enqueue(t, "console", "654321 is your code")
	claimed, err := r.outbox.Claim(context.Background(), 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	if n := r.worker.RunOnce(context.Background()); n != 0 {
		t.Error("a leased message was claimed twice")
	}
	r.clock.Advance(time.Minute + time.Second)
	if n := r.worker.RunOnce(context.Background()); n != 1 {
		t.Fatal("the expired lease was not reclaimed")
	}
	// The console channel keeps its text: it is how a developer reads codes.
	if m := r.row(t, id); m.State != models.OutboxSent || m.Body != "654321 is your code" {
		t.Errorf("%+v", m)
	}
}

func TestWakeDoesNotBlock(t *testing.T) {
	r := newRig(t)
	for i := 0; i < 100; i++ {
		r.worker.Wake()
	}
}

// A message whose code expired while it waited (a provider outage) is not
// sent: a dead code would only confuse the person.
func TestExpiredCodeIsNotSent(t *testing.T) {
	sms := &fakeSender{name: "sms", fails: []error{errors.New("down")}}
	r := newRig(t, sms)
	now := r.clock.Now()
	code := &models.OTPCode{Phone: "+12015550123", CodeMAC: []byte{1}, State: models.CodePending,
		CreatedAt: now.UnixMilli(), ExpiresAt: now.Add(5 * time.Minute).UnixMilli()}
	if err := r.db.Write.Create(code).Error; err != nil {
		t.Fatal(err)
	}
	id := r.enqueue(t, "sms", "111222 is your code")
	if err := r.db.Write.Exec("UPDATE outbox SET otp_id = ? WHERE id = ?", code.ID, id).Error; err != nil {
		t.Fatal(err)
	}
	r.worker.RunOnce(context.Background()) // fails: the provider is down
	r.clock.Advance(6 * time.Minute)
	r.worker.RunOnce(context.Background())
	m := r.row(t, id)
	if len(sms.sent) != 1 || m.State != models.OutboxFailed || m.Body == "111222 is your code" {
		t.Errorf("sent %d times, row %+v", len(sms.sent), m)
	}
}

// Codes go before background jobs: a popular user's join can queue
// thousands of notices, and a person is waiting for their code.
func TestCodesAreClaimedBeforeJobs(t *testing.T) {
	r := newRig(t, &fakeSender{name: "console"}, &fakeSender{name: "mesibo"})
	now := r.clock.Now().UnixMilli()
	for i := 0; i < 30; i++ {
		m := &models.OutboxMessage{Channel: "mesibo", Kind: models.OutboxKindMesiboNotice, Recipient: "+12015550123",
			Body: "{}", State: models.OutboxPending, CreatedAt: now, NextAttemptAt: now}
		if err := r.db.Write.Create(m).Error; err != nil {
			t.Fatal(err)
		}
	}
	r.clock.Advance(time.Second)
	code := r.enqueue(t, "console", "123456 is your code")
	msgs, err := r.outbox.Claim(context.Background(), 5)
	if err != nil || len(msgs) != 5 || msgs[0].ID != code {
		t.Fatalf("first claimed %+v, %v; want the code %d first", msgs, err, code)
	}
}

// A provider's Retry-After sets the next attempt; a held failure (a
// misconfigured channel) is kept past MaxAttempts and retried after
// MaxBackoff.
func TestRetryLaterError(t *testing.T) {
	fails := []error{&delivery.RetryLaterError{Err: errors.New("429"), After: 90 * time.Second}}
	for range 8 {
		fails = append(fails, &delivery.RetryLaterError{Err: errors.New("AUTHFAIL"), Hold: true})
	}
	r := newRig(t, &fakeSender{name: "mesibo", fails: fails})
	id := r.enqueue(t, "mesibo", "job")
	r.worker.RunOnce(context.Background())
	if m := r.row(t, id); m.State != models.OutboxPending || m.NextAttemptAt-r.clock.Now().UnixMilli() != 90_000 {
		t.Fatalf("after a 429: %+v", m)
	}
	r.clock.Advance(90 * time.Second)
	for range 8 {
		r.worker.RunOnce(context.Background())
		m := r.row(t, id)
		if wait := time.Duration(m.NextAttemptAt-r.clock.Now().UnixMilli()) * time.Millisecond; m.State != models.OutboxPending || wait != delivery.DefaultWorkerConfig().MaxBackoff {
			t.Fatalf("held: %+v, next in %v", m, wait)
		}
		r.clock.Advance(delivery.DefaultWorkerConfig().MaxBackoff)
	}
	r.worker.RunOnce(context.Background())
	if m := r.row(t, id); m.State != models.OutboxSent || m.Attempts != 10 {
		t.Errorf("%+v", m)
	}
}

// A message whose outcome the database keeps refusing to record does not
// hold up the others, and is not sent again when it is claimed again after
// its lease.
func TestUnrecordedOutcomeHoldsUpNothing(t *testing.T) {
	console := &fakeSender{name: "console"}
	r := newRig(t, console)
	first := r.enqueue(t, "console", "first")
	r.clock.Advance(time.Millisecond)
	r.enqueue(t, "console", "second")
	if err := r.db.Write.Exec(`CREATE TRIGGER refuse_record BEFORE UPDATE OF state ON outbox
		WHEN NEW.state = 'sent' AND NEW.id = ` + strconv.FormatInt(first, 10) + `
		BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`).Error; err != nil {
		t.Fatal(err)
	}
	r.worker.RunOnce(context.Background()) // the first's record refused; the second sent
	r.clock.Advance(2 * time.Minute)       // past the first's lease
	r.worker.RunOnce(context.Background())
	var bodies []string
	for _, m := range console.sent {
		bodies = append(bodies, m.Body)
	}
	if !slices.Equal(bodies, []string{"first", "second"}) {
		t.Errorf("sent %v, want each once", bodies)
	}
}
