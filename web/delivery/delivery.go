// Package delivery sends queued messages (one-time codes) through channels
// such as the development console. Sending runs in a background worker that
// reads the persisted outbox, so a slow channel never slows a request.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"roster/models"
	"roster/models/poll"
)

// Message is what a channel delivers.
type Message struct {
	ID        int64
	Recipient string // E.164 phone number (or an email address, for email channels)
	Body      string
	Code      string // the bare one-time code (the webhook sends it as a field)
	Kind      string // models.OutboxKind*
	Lang      string // the language of a code's message ("" = the default)
	CreatedAt time.Time
	// IdempotencyKey is the same on every attempt of one message: channels
	// whose provider takes one pass it (the webhook's webhook-id, the
	// email's Message-ID), so a retry after a lost answer is dropped
	// there. Twilio's Messages API takes none.
	IdempotencyKey string
}

// Sender is a delivery channel.
type Sender interface {
	// Name is the channel's configuration name ("console", "twilio", ...).
	Name() string
	// Send delivers the message or returns why not. A *PermanentError means
	// retrying cannot help. The receipt (HTTP status, provider message id) is
	// recorded with the attempt, on success and on failure alike.
	Send(ctx context.Context, m Message) (Receipt, error)
}

// Receipt is what a provider answered to one attempt.
type Receipt = models.AttemptInfo

// PermanentError is a failure that retrying will not fix (a rejected number,
// bad credentials).
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// RetryLaterError is a failure whose retry time the provider decided (an
// HTTP 429 with Retry-After) or that waits for the operator: with Hold, the
// channel is misconfigured (a refused credential, a request the provider
// does not understand), and the message is kept, however many attempts it
// took, so that it goes out once the configuration is fixed instead of
// being given up.
type RetryLaterError struct {
	Err   error
	After time.Duration // 0: the worker's backoff (MaxBackoff when held)
	Hold  bool
}

func (e *RetryLaterError) Error() string { return e.Err.Error() }
func (e *RetryLaterError) Unwrap() error { return e.Err }

// Console is the development channel: it writes the message to the log.
type Console struct {
	Log *slog.Logger
}

// Name returns "console".
func (Console) Name() string { return "console" }

// Send logs the message, code included: this channel exists so a developer
// can sign in without an SMS provider, and it is the only place where Roster
// logs a code.
func (c Console) Send(_ context.Context, m Message) (Receipt, error) {
	c.Log.Warn("DEVELOPMENT DELIVERY (console channel, not for production): message to "+m.Recipient+": "+m.Body,
		"outbox_id", m.ID)
	return Receipt{}, nil
}

// Outbox is the part of models.Outbox the worker uses.
type Outbox interface {
	Claim(ctx context.Context, limit int) ([]models.OutboxMessage, error)
	MarkSent(ctx context.Context, m *models.OutboxMessage, info models.AttemptInfo) error
	MarkFailed(ctx context.Context, m *models.OutboxMessage, cause string, retryAt time.Time, info models.AttemptInfo) error
}

// WorkerConfig tunes the worker.
type WorkerConfig struct {
	Poll        time.Duration // how often to look for due messages when not woken
	SendTimeout time.Duration // one attempt's limit
	MaxAttempts int           // attempts before a message is given up
	// JobMaxAttempts is MaxAttempts for background jobs (mesibo token
	// revocations): a code is useless after minutes, but a revocation must
	// outlast an outage. 0 means MaxAttempts.
	JobMaxAttempts int
	BaseBackoff    time.Duration // wait after the first failure; doubles each time
	MaxBackoff     time.Duration
}

// DefaultWorkerConfig is used for unset fields.
func DefaultWorkerConfig() WorkerConfig {
	return WorkerConfig{Poll: 2 * time.Second, SendTimeout: 15 * time.Second, MaxAttempts: 5,
		JobMaxAttempts: 300, // about a day at the 5-minute backoff cap
		BaseBackoff:    2 * time.Second, MaxBackoff: 5 * time.Minute}
}

// markTimeout bounds recording an outcome after the worker was told to
// stop: the message was handed to the provider, and not recording it would
// send it again after the lease.
const markTimeout = 5 * time.Second

// Worker delivers outbox messages through their channels.
type Worker struct {
	outbox  Outbox
	senders map[string]Sender
	clock   models.Clock
	log     *slog.Logger
	cfg     WorkerConfig
	wake    poll.Wake

	mu sync.Mutex
	// unrecorded holds, by message id, the outcomes of attempts that the
	// database refused to record (a full disk, PostgreSQL restarting).
	// Such a message keeps its claim, and is claimed again when its lease
	// ends: it is then not sent again, its kept outcome is recorded
	// instead. Each RunOnce first tries to record them all.
	unrecorded map[int64]*outcome
}

// outcome is what one attempt at a message came to, to be recorded.
type outcome struct {
	m       models.OutboxMessage
	info    Receipt
	sendErr error     // nil: delivered
	retryAt time.Time // for a failure: when to try again (zero: give up)
}

// NewWorker returns a worker for the given channels.
func NewWorker(outbox Outbox, clock models.Clock, log *slog.Logger, cfg WorkerConfig, senders ...Sender) *Worker {
	m := map[string]Sender{}
	for _, s := range senders {
		m[s.Name()] = s
	}
	return &Worker{outbox: outbox, senders: m, clock: clock, log: log, cfg: cfg, wake: poll.NewWake(),
		unrecorded: map[int64]*outcome{}}
}

// Wake asks the worker to look for messages now. It never blocks.
func (w *Worker) Wake() { w.wake.Send() }

// Run delivers messages until ctx is done. An outcome still unrecorded
// then gets one more try: lost, its message would go out again after its
// lease.
func (w *Worker) Run(ctx context.Context) {
	poll.Run(ctx, w.cfg.Poll, w.wake, w.RunOnce)
	w.recordUnrecorded(ctx)
}

// RunOnce sends the due messages, one claim at a time, and returns how
// many it handled. One at a time: a crash can then leave at most the one
// message in flight sent but not marked (it goes out again after its
// lease), where a claimed batch left every message of it waiting a lease.
// Without a crash nothing is sent twice: an outcome the database refused
// to record is kept, and recorded in place of sending the message again.
func (w *Worker) RunOnce(ctx context.Context) int {
	w.recordUnrecorded(ctx)
	n := 0
	for ctx.Err() == nil {
		msgs, err := w.outbox.Claim(ctx, 1)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Error("outbox: claim failed", "err", err)
			}
			return n
		}
		if len(msgs) == 0 {
			return n
		}
		n++
		if o := w.takeUnrecorded(msgs[0].ID); o != nil {
			// Attempted already, its outcome kept: recorded under this
			// claim instead.
			o.m = msgs[0]
			w.recordOrKeep(ctx, o)
			continue
		}
		w.deliver(ctx, &msgs[0])
	}
	return n
}

// deliver sends m and records the outcome.
func (w *Worker) deliver(ctx context.Context, m *models.OutboxMessage) {
	// A send that started finishes (up to SendTimeout) and its outcome is
	// recorded even when the worker is told to stop meanwhile: an aborted
	// send may have reached the provider, and an unrecorded one keeps its
	// lease and is sent again.
	info, err := w.send(context.WithoutCancel(ctx), m)
	o := &outcome{m: *m, info: info, sendErr: err}
	if err != nil {
		o.retryAt = w.retryAt(m, err)
		w.log.Warn("outbox: delivery failed", "outbox_id", m.ID, "channel", m.Channel, "attempt", m.Attempts,
			"final", o.retryAt.IsZero(), "err", err)
	}
	w.recordOrKeep(ctx, o)
}

// recordOrKeep records o, or keeps it in unrecorded when the database
// refuses.
func (w *Worker) recordOrKeep(ctx context.Context, o *outcome) {
	if err := w.record(ctx, o); err != nil {
		w.mu.Lock()
		w.unrecorded[o.m.ID] = o
		w.mu.Unlock()
	}
}

// takeUnrecorded removes and returns the kept outcome of a message (nil:
// none).
func (w *Worker) takeUnrecorded(id int64) *outcome {
	w.mu.Lock()
	defer w.mu.Unlock()
	o := w.unrecorded[id]
	delete(w.unrecorded, id)
	return o
}

// recordUnrecorded records the kept outcomes the database now takes. One
// whose message was claimed again or given up since changes nothing
// (recorded once per claim) and is let go too.
func (w *Worker) recordUnrecorded(ctx context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, o := range w.unrecorded {
		if err := w.record(ctx, o); err == nil {
			delete(w.unrecorded, id)
		}
	}
}

// record writes an outcome, within markTimeout even when the worker is
// told to stop meanwhile.
func (w *Worker) record(ctx context.Context, o *outcome) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer cancel()
	if o.sendErr == nil {
		err := w.outbox.MarkSent(ctx, &o.m, o.info)
		if err != nil {
			w.log.Error("outbox: recording a delivery failed; kept to record later, and not sent again",
				"outbox_id", o.m.ID, "err", err)
		}
		return err
	}
	err := w.outbox.MarkFailed(ctx, &o.m, o.sendErr.Error(), o.retryAt, o.info)
	if err != nil {
		w.log.Error("outbox: recording a failure failed; kept to record later",
			"outbox_id", o.m.ID, "err", err)
	}
	return err
}

// retryAt is when a failed message is tried again (zero: given up).
func (w *Worker) retryAt(m *models.OutboxMessage, err error) time.Time {
	var retryAt time.Time
	var perm *PermanentError
	limit := w.cfg.MaxAttempts
	if m.Kind == models.OutboxKindMesiboRevoke && w.cfg.JobMaxAttempts > 0 {
		limit = w.cfg.JobMaxAttempts
	}
	var later *RetryLaterError
	switch {
	case errors.As(err, &perm):
	case errors.As(err, &later) && later.Hold:
		retryAt = w.clock.Now().Add(max(later.After, w.cfg.MaxBackoff))
	case errors.As(err, &later) && later.After > 0 && m.Attempts < limit:
		retryAt = w.clock.Now().Add(later.After)
	case m.Attempts < limit:
		retryAt = w.clock.Now().Add(w.backoff(m.Attempts))
	}
	return retryAt
}

func (w *Worker) send(ctx context.Context, m *models.OutboxMessage) (Receipt, error) {
	s, ok := w.senders[m.Channel]
	if !ok {
		return Receipt{}, &PermanentError{Err: fmt.Errorf("channel %q is not configured", m.Channel)}
	}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.SendTimeout)
	defer cancel()
	// The duration is wall time, not the injected clock: it measures the provider.
	start := time.Now()
	msg := Message{ID: m.ID, Recipient: m.Recipient, Body: m.Body, Code: m.Code, Kind: m.Kind, Lang: m.Lang,
		CreatedAt: time.UnixMilli(m.CreatedAt)}
	msg.IdempotencyKey = fmt.Sprintf("msg_%d_%d", m.ID, m.CreatedAt)
	info, err := s.Send(ctx, msg)
	info.Duration = time.Since(start)
	return info, err
}

// backoff doubles from BaseBackoff per attempt, capped, with jitter so that
// many failures at once do not retry in lockstep.
func (w *Worker) backoff(attempt int) time.Duration {
	d := w.cfg.BaseBackoff << min(attempt-1, 20)
	if d <= 0 || d > w.cfg.MaxBackoff {
		d = w.cfg.MaxBackoff
	}
	return d/2 + rand.N(d/2+1)
}
