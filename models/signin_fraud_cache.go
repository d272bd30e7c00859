package models

import (
	"context"
	"hash/maphash"
	"log/slog"
	"sync"
	"time"
)

// The fraud guard's memory of its refusals. Once the database has refused
// a prefix's code because its limit is reached, every
// request to that prefix is refused until the oldest counted code leaves
// the window: codes are only added through the limit, and kept longer than
// any window (--retention). So the refusal and its time are remembered and
// the next requests to the prefix are answered RATELIMIT at once, without
// a write transaction: a pumping bot then no longer takes the single
// writer from the real users. Each instance remembers what its own
// database reads said; every code that is sent is still counted and
// decided in the database (signin_fraud.go), so the limits stay exact
// across instances.
//
// A refusal answered from memory is counted like one answered by the
// database: in the metrics at once (FraudPolicy.OnDecision), and in the
// audit log on the row of its network (auditRepeats), written in batches
// by FlushRefusals, every second from RunRefusalLog.

// fraudFullSlots: 4,096 remembered prefixes, about 300 KiB.
const fraudFullSlots = 4096

// maxPendingRefusals bounds the networks whose refusals wait for the
// audit log between two flushes; past it, a refusal of yet another network
// is left to the database, which audits it in its transaction.
const maxPendingRefusals = 10_000

// refusalFlushChunk bounds the networks audited in one write transaction,
// so that a large flush does not hold the writer for long.
const refusalFlushChunk = 500

// fraudFull is a prefix whose codes the database refuses until a time, and
// why.
type fraudFull struct {
	key    string // a prefix ("+1201555")
	reason string // FraudPrefixHourly...
	detail string // the audit detail of the refusal
	until  int64  // unix milliseconds
}

// pendingRefusal is the refusals of one network answered from memory and
// not yet written to the audit log: the first one's entry, how many, and
// the time of the last.
type pendingRefusal struct {
	entry  AuditEntry
	count  int64
	lastAt int64
}

// fraudRefusals is the table of full prefixes, and the
// refusals it answered that wait for the audit log. The table is
// direct-mapped: a fixed array indexed by a keyed hash of the key, each
// slot holding the latest key that fell there. Its memory is fixed and a
// bot filling many prefixes only overwrites slots: a key not found is
// asked of the database, as without the table. A slot is only used for
// its own key, so a request of another prefix is never refused by it.
type fraudRefusals struct {
	seed    maphash.Seed
	mu      sync.Mutex
	full    [fraudFullSlots]fraudFull
	pending map[string]*pendingRefusal // by NetworkKey
}

func newFraudRefusals() *fraudRefusals {
	return &fraudRefusals{seed: maphash.MakeSeed(), pending: map[string]*pendingRefusal{}}
}

func (r *fraudRefusals) slot(key string) *fraudFull {
	return &r.full[maphash.String(r.seed, key)%fraudFullSlots]
}

// remember records that the database refuses the key's codes until
// f.until.
func (r *fraudRefusals) remember(f fraudFull) {
	r.mu.Lock()
	defer r.mu.Unlock()
	*r.slot(f.key) = f
}

// refusing returns the remembered refusal of the prefix, if it still
// holds at nowMs.
func (r *fraudRefusals) refusing(key string, nowMs int64) (fraudFull, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if f := r.slot(key); f.key == key && nowMs < f.until {
		return *f, true
	}
	return fraudFull{}, false
}

// queue adds a refusal answered from memory to its network's pending
// audit entry. It reports false, queueing nothing, when the entry would be
// a new one past maxPendingRefusals.
func (r *fraudRefusals) queue(e AuditEntry) bool {
	e.IP = NetworkKey(e.IP)
	r.mu.Lock()
	defer r.mu.Unlock()
	if p := r.pending[e.IP]; p != nil {
		p.count++
		p.lastAt = e.At
		return true
	}
	if len(r.pending) >= maxPendingRefusals {
		return false
	}
	r.pending[e.IP] = &pendingRefusal{entry: e, count: 1, lastAt: e.At}
	return true
}

// refuseRemembered answers a code request to a prefix whose limit the
// database reached, without a transaction: the refusal the
// database would give, counted in the metrics and queued for the audit
// log. It returns nil when nothing remembered refuses the request.
func (s *SignIn) refuseRemembered(p Phone, cl ClientInfo, now time.Time) *RefusedError {
	if s.cfg.DemoCode != "" || p.IsEmail() {
		return nil
	}
	nowMs := toMillis(now)
	full, ok := s.refusals.refusing(fraudPrefix(p), nowMs)
	if !ok || !s.refusals.queue(apiEntry(nowMs, EventCodeRateLimited, p.E164, nil, cl, "fraud guard: "+full.detail)) {
		return nil
	}
	if f := s.cfg.Fraud.OnDecision; f != nil {
		f(FraudRefused, full.reason)
	}
	wait := max(time.Duration(full.until-nowMs)*time.Millisecond, time.Second)
	return rateLimited(wait, fraudRefusalMessage, wait)
}

// FlushRefusals writes the refusals answered from memory to the audit log,
// each on the row of its network (auditRepeats). The server calls it every
// second and when it closes; tests call it before they read the audit log.
// Refusals whose transaction failed are kept for the next flush.
func (s *SignIn) FlushRefusals(ctx context.Context) error {
	r := s.refusals
	r.mu.Lock()
	batch := r.pending
	if len(batch) > 0 {
		r.pending = map[string]*pendingRefusal{}
	}
	r.mu.Unlock()
	rows := make([]pendingRefusal, 0, len(batch))
	for _, p := range batch {
		rows = append(rows, *p)
	}
	for len(rows) > 0 {
		chunk := rows[:min(len(rows), refusalFlushChunk)]
		err := s.db.WriteTx(ctx, func(tx *Tx) error {
			for _, p := range chunk {
				if err := auditRepeats(tx.DB, p.entry, p.count, p.lastAt); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			r.requeue(rows)
			return err
		}
		rows = rows[len(chunk):]
	}
	return nil
}

// requeue puts back refusals whose flush failed, before those queued
// since (their entry, the first, is kept). It may pass maxPendingRefusals:
// the networks were all queued within the bound before.
func (r *fraudRefusals) requeue(rows []pendingRefusal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range rows {
		if q := r.pending[p.entry.IP]; q != nil {
			q.entry, q.count, q.lastAt = p.entry, q.count+p.count, max(q.lastAt, p.lastAt)
			continue
		}
		r.pending[p.entry.IP] = &p
	}
}

// RunRefusalLog writes the refusals answered from memory every interval
// until ctx is done, then once more.
func (s *SignIn) RunRefusalLog(ctx context.Context, every time.Duration, log *slog.Logger) {
	flush := func(ctx context.Context) {
		if err := s.FlushRefusals(ctx); err != nil && ctx.Err() == nil {
			log.Warn("fraud guard refusals: writing to the audit log failed; kept for the next try", "err", err)
		}
	}
	flushEvery(ctx, every, flush)
}
