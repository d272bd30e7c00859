package push

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"roster/models"
	"roster/models/poll"
)

// Jobs is the part of models.Pushes the worker uses.
type Jobs interface {
	Claim(ctx context.Context, limit int) ([]models.PushDelivery, error)
	Record(ctx context.Context, outs []models.PushOutcome) error
}

// WorkerConfig tunes the worker.
type WorkerConfig struct {
	Concurrency   int           // pushes in flight at once
	RatePerSecond int           // most pushes a second per provider
	Poll          time.Duration // how often to look for due jobs when not woken
	MaxAttempts   int           // attempts before a job is given up (it also expires after the TTL)
	BaseBackoff   time.Duration // wait after the first failure; doubles each time, with jitter
	MaxBackoff    time.Duration
}

// DefaultWorkerConfig fills unset fields.
func DefaultWorkerConfig() WorkerConfig {
	return WorkerConfig{Concurrency: 64, RatePerSecond: 2000, Poll: 2 * time.Second, MaxAttempts: 8,
		BaseBackoff: 5 * time.Second, MaxBackoff: 10 * time.Minute}
}

// Worker sends push jobs: claimed in batches, sent with bounded
// concurrency under a rate limit per provider, their outcomes recorded one
// batch per transaction.
type Worker struct {
	jobs      Jobs
	providers map[string]Provider
	limits    map[string]*limiter
	clock     models.Clock // retry times (the outbox's steady clock)
	log       *slog.Logger
	cfg       WorkerConfig
	wake      poll.Wake
	// Observe is told each attempt's provider and outcome ("sent",
	// "retry", "failed"), for the metrics. Set it before Run.
	Observe func(provider, outcome string)
}

// NewWorker returns a worker for the providers.
func NewWorker(jobs Jobs, clock models.Clock, log *slog.Logger, cfg WorkerConfig, providers ...Provider) *Worker {
	d := DefaultWorkerConfig()
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = d.Concurrency
	}
	if cfg.RatePerSecond <= 0 {
		cfg.RatePerSecond = d.RatePerSecond
	}
	if cfg.Poll <= 0 {
		cfg.Poll = d.Poll
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = d.MaxAttempts
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = d.BaseBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = d.MaxBackoff
	}
	w := &Worker{jobs: jobs, providers: map[string]Provider{}, limits: map[string]*limiter{}, clock: clock, log: log, cfg: cfg,
		wake: poll.NewWake(), Observe: func(string, string) {}}
	for _, p := range providers {
		w.providers[p.Name()] = p
		w.limits[p.Name()] = newLimiter(cfg.RatePerSecond)
	}
	return w
}

// Wake asks the worker to look for jobs now. It never blocks.
func (w *Worker) Wake() { w.wake.Send() }

// Run sends jobs until ctx is done.
func (w *Worker) Run(ctx context.Context) { poll.Run(ctx, w.cfg.Poll, w.wake, w.RunOnce) }

// RunOnce claims and sends one batch and returns how many jobs it handled.
func (w *Worker) RunOnce(ctx context.Context) int {
	ds, err := w.jobs.Claim(ctx, 4*w.cfg.Concurrency)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Error("push: claim failed", "err", err)
		}
		return 0
	}
	if len(ds) == 0 {
		return 0
	}
	outs := make([]models.PushOutcome, len(ds))
	sem := make(chan struct{}, w.cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range ds {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			outs[i] = w.send(ctx, &ds[i])
		})
	}
	wg.Wait()
	var err2 error
	for range 3 {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err2 = w.jobs.Record(rctx, outs)
		cancel()
		if err2 == nil {
			break
		}
	}
	if err2 != nil {
		w.log.Error("push: recording a batch failed; its jobs are sent again after their lease", "jobs", len(outs), "err", err2)
	}
	return len(ds)
}

// send makes one attempt and says what it came to.
func (w *Worker) send(ctx context.Context, d *models.PushDelivery) models.PushOutcome {
	o := models.PushOutcome{Delivery: *d}
	p, ok := w.providers[d.Provider]
	if !ok {
		o.Err = "push provider " + d.Provider + " is not configured (--push)"
		w.Observe(d.Provider, "failed")
		return o
	}
	if err := w.limits[d.Provider].wait(ctx); err != nil {
		o.Err, o.RetryAt = "stopped before sending", w.clock.Now()
		return o
	}
	// A send that started finishes and is recorded even when the worker is
	// told to stop meanwhile: it may have reached the provider.
	start := time.Now()
	rc, err := p.Send(context.WithoutCancel(ctx), Notification{Token: d.Token, Type: d.Job.Type, TS: d.Job.TS, Sandbox: d.Sandbox})
	o.Info = models.AttemptInfo{HTTPStatus: rc.HTTPStatus, ProviderRef: rc.ID, Duration: time.Since(start)}
	if err == nil {
		w.Observe(d.Provider, "sent")
		return o
	}
	o.Err = err.Error()
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Provider: d.Provider, Reason: err.Error()}
	}
	switch e.Token {
	case TokenRemove:
		o.Token = models.PushTokenRemove
		o.InvalidSince = e.InvalidSince
	case TokenDisable:
		o.Token = models.PushTokenDisable
		// Once per token: a disabled token is not queued again.
		w.log.Warn("push: a device's token belongs to another sender (a stock mesibo demo build carries tokens of mesibo's own Firebase project); it is disabled and never retried",
			"provider", d.Provider, "session_id", d.Job.SessionID, "reason", e.Reason)
	}
	now := w.clock.Now()
	switch {
	case e.Final:
	case e.Hold:
		o.RetryAt = now.Add(max(e.RetryAfter, w.cfg.MaxBackoff))
	case d.Msg.Attempts >= w.cfg.MaxAttempts:
	case e.RetryAfter > 0:
		o.RetryAt = now.Add(e.RetryAfter)
	default:
		o.RetryAt = now.Add(w.backoff(d.Msg.Attempts))
	}
	if o.RetryAt.IsZero() {
		w.Observe(d.Provider, "failed")
	} else {
		w.Observe(d.Provider, "retry")
	}
	return o
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

// limiter spaces sends evenly at a rate a second (a token bucket of one
// second's burst), on wall time: it paces the provider.
type limiter struct {
	mu       sync.Mutex
	interval time.Duration
	next     time.Time
}

func newLimiter(perSecond int) *limiter {
	return &limiter{interval: time.Second / time.Duration(perSecond)}
}

// wait blocks until the next send may start.
func (l *limiter) wait(ctx context.Context) error {
	l.mu.Lock()
	now := time.Now()
	// Up to a second's worth may go at once after a quiet spell.
	if floor := now.Add(-time.Second); l.next.Before(floor) {
		l.next = floor
	}
	at := l.next
	l.next = l.next.Add(l.interval)
	l.mu.Unlock()
	d := at.Sub(now)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
