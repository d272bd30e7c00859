package seed

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"

	"roster/models"
)

// The last 30 days of sign-in history: for every sign-in the code, its
// delivery (outbox message and attempt) and the audit entries the real
// path writes, plus the codes that led nowhere (never entered, guessed wrong
// until exhausted, refused by the provider), logouts and administrator
// actions. Written in time order, so that ids follow time as they do in a
// live deployment.

// seedCodeTTL is the default code lifetime (DefaultPolicy's TTL).
const seedCodeTTL = 5 * 60 * 1000

// Offsets of a sign-in's steps from the moment its session is made (ms):
// the code is asked for 40 s before, delivered 2 s after asking.
const (
	seedAskBefore = 40_000
	seedSentAfter = 2_000
)

// start is when the event's first row is written: the code request.
func (e *seedEvent) start() int64 {
	if e.kind == seedSignIn || e.kind == seedSignUp {
		return e.at - seedAskBefore
	}
	return e.at
}

func (e *seedEvent) hasCode() bool { return e.kind <= seedUndelivered }

func (e *seedEvent) channel() string {
	if e.variant >= 8 {
		return "webhook"
	}
	return "twilio"
}

// seedAuditRow is one audit entry to write: a step of an event.
type seedAuditRow struct {
	at   int64
	ev   int32
	step uint8
}

// Audit steps of an event.
const (
	stepRequested uint8 = iota
	stepSent
	stepWrongOnce // a sign-in's one wrong try before the right code
	stepVerified
	stepCreated
	stepIssued
	stepSendFailed
	stepRevoked
	stepBlocked
	stepModerated
	stepWrong // + try number - 1 for an exhausted code's five tries
)

// writeHistory adds the codes that led nowhere (3% of the users' number
// over the month), orders all events by time and writes them.
func (w *seedWorld) writeHistory(ctx context.Context, conn *sql.Conn, log *slog.Logger, st *Stats) error {
	rng := rand.New(rand.NewPCG(w.cfg.RandSeed, 11))
	devices := len(seedDevices())
	for range w.cfg.Users * 3 / 100 {
		ev := seedEvent{at: between(rng, w.window, w.now), ip: seedIP(rng), device: uint8(rng.IntN(devices)),
			variant: uint8(rng.IntN(10)), kind: seedExpired}
		switch r := rng.IntN(100); {
		case r < 30:
			ev.kind = seedWrong
		case r < 45:
			ev.kind = seedUndelivered
		}
		if rng.IntN(2) == 0 {
			ev.user = int32(1 + rng.IntN(w.cfg.Users))
		} else { // someone who never finished signing up
			ev.other = int32(rng.IntN(max(w.cfg.Users, 100_000)))
		}
		w.events = append(w.events, ev)
	}
	slices.SortFunc(w.events, func(a, b seedEvent) int { return cmp.Compare(a.start(), b.start()) })
	rows := w.auditRows()
	if err := w.writeCodes(ctx, conn, rng, newSeedProgress(log, "codes and deliveries", len(w.events)), st); err != nil {
		return err
	}
	return w.writeAudit(ctx, conn, rows, newSeedProgress(log, "audit log", len(rows)), st)
}

// auditRows lists every event's audit entries, in time order.
func (w *seedWorld) auditRows() []seedAuditRow {
	var rows []seedAuditRow
	for i := range w.events {
		e := &w.events[i]
		add := func(at int64, step uint8) { rows = append(rows, seedAuditRow{at: at, ev: int32(i), step: step}) }
		ask := e.start()
		switch e.kind {
		case seedSignIn, seedSignUp:
			add(ask, stepRequested)
			add(ask+seedSentAfter, stepSent)
			if e.variant == 0 {
				add(e.at-20_000, stepWrongOnce)
			}
			add(e.at, stepVerified)
			if e.kind == seedSignUp {
				add(e.at, stepCreated)
			}
			add(e.at, stepIssued)
		case seedExpired:
			add(ask, stepRequested)
			add(ask+seedSentAfter, stepSent)
		case seedWrong:
			add(ask, stepRequested)
			add(ask+seedSentAfter, stepSent)
			for k := range uint8(5) {
				add(ask+30_000+int64(k)*15_000, stepWrong+k)
			}
		case seedUndelivered:
			add(ask, stepRequested)
			add(ask+120_000, stepSendFailed)
		case seedLogout:
			add(e.at, stepRevoked)
		case seedBlock:
			add(e.at, stepBlocked)
		case seedModerate:
			add(e.at, stepModerated)
		}
	}
	slices.SortStableFunc(rows, func(a, b seedAuditRow) int { return cmp.Compare(a.at, b.at) })
	return rows
}

// writeCodes writes each code with its outbox message and attempts.
func (w *seedWorld) writeCodes(ctx context.Context, conn *sql.Conn, rng *rand.Rand, prog *seedProgress, st *Stats) error {
	devices := seedDevices()
	var otpID int64
	const batch = 20_000
	for lo := 0; lo < len(w.events); lo += batch {
		err := seedTx(ctx, conn, func(tx *sql.Tx) error {
			codes, err := newMultiInsert(ctx, tx, `INSERT INTO otp_codes (id, phone, code_mac, state, attempts, network, user_agent,
				app_id, channel, created_at, expires_at, verified_at) VALUES `, "(?,?,?,?,?,?,?,?,?,?,?,?)", 12, 100)
			if err != nil {
				return err
			}
			outbox, err := newMultiInsert(ctx, tx, `INSERT INTO outbox (id, channel, recipient, body, otp_id, state, attempts,
				last_error, created_at, next_attempt_at, sent_at) VALUES `, "(?,?,?,'',?,?,?,?,?,?,?)", 10, 100)
			if err != nil {
				return err
			}
			attempts, err := newMultiInsert(ctx, tx, `INSERT INTO outbox_attempts (outbox_id, attempt, at, channel, status,
				http_status, provider_ref, error, duration_ms) VALUES `, "(?,?,?,?,?,?,?,?,?)", 9, 100)
			if err != nil {
				return err
			}
			for i := lo; i < min(lo+batch, len(w.events)); i++ {
				e := &w.events[i]
				if !e.hasCode() {
					continue
				}
				otpID++
				if err := w.code(ctx, rng, e, otpID, devices[e.device].userAgent, codes, outbox, attempts); err != nil {
					return err
				}
				st.Codes++
			}
			prog.add(min(batch, len(w.events)-lo))
			for _, m := range []*multiInsert{codes, outbox, attempts} {
				if err := m.flush(ctx); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	prog.finish()
	return nil
}

func (w *seedWorld) code(ctx context.Context, rng *rand.Rand, e *seedEvent, id int64, userAgent string, codes, outbox, attempts *multiInsert) error {
	ask := e.start()
	state, tries := models.CodeExpired, 0
	var verified any
	switch e.kind {
	case seedSignIn, seedSignUp:
		state, tries, verified = models.CodeVerified, 1, e.at
		if e.variant == 0 {
			tries = 2
		}
	case seedWrong:
		state, tries = models.CodeExhausted, 5
	}
	if state == models.CodeExpired && ask+seedCodeTTL > w.now {
		state = models.CodePending
	}
	var mac [32]byte // a MAC of no code: nobody can sign in with a seeded code
	for k := 0; k < len(mac); k += 8 {
		v := rng.Uint64()
		for b := range 8 {
			mac[k+b] = byte(v >> (8 * b))
		}
	}
	phone, channel := e.phone(), e.channel()
	err := codes.add(ctx, id, phone, mac[:], state, tries, models.NetworkKey(e.ip), userAgent, "com.mesibo.messenger", channel,
		ask, ask+seedCodeTTL, verified)
	if err != nil {
		return err
	}
	if e.kind == seedUndelivered {
		fails := []struct {
			status, http int
			err          string
			after        int64
		}{
			{0, 503, channel + ": HTTP 503: Service Unavailable", 2_000},
			{0, 0, channel + ": no answer in time (context deadline exceeded)", 40_000},
			{1, 400, channel + ": HTTP 400: 21211 Invalid 'To' Phone Number", 120_000},
		}
		last := fails[len(fails)-1]
		if err := outbox.add(ctx, id, channel, phone, id, models.OutboxFailed, len(fails), last.err, ask, ask+last.after, nil); err != nil {
			return err
		}
		for k, f := range fails {
			status := "retry"
			if f.status == 1 {
				status = "failed"
			}
			if err := attempts.add(ctx, id, k+1, ask+f.after, channel, status, f.http, "", f.err, 300+rng.IntN(9_700)); err != nil {
				return err
			}
		}
		return nil
	}
	sent := ask + seedSentAfter
	if err := outbox.add(ctx, id, channel, phone, id, models.OutboxSent, 1, "", ask, ask, sent); err != nil {
		return err
	}
	httpStatus, ref := 200, ""
	if channel == "twilio" {
		httpStatus, ref = 201, fmt.Sprintf("SM%016x%016x", rng.Uint64(), rng.Uint64())
	}
	return attempts.add(ctx, id, 1, sent, channel, "sent", httpStatus, ref, "", 150+rng.IntN(750))
}

// writeAudit writes the audit entries in time order.
func (w *seedWorld) writeAudit(ctx context.Context, conn *sql.Conn, rows []seedAuditRow, prog *seedProgress, st *Stats) error {
	const batch = 50_000
	adminIP, adminUA := "198.51.100.7", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
	devices := seedDevices()
	for lo := 0; lo < len(rows); lo += batch {
		err := seedTx(ctx, conn, func(tx *sql.Tx) error {
			ins, err := newMultiInsert(ctx, tx, `INSERT INTO audit_log (at, actor, type, phone, user_id, ip, user_agent, detail)
				VALUES `, "(?,?,?,?,?,?,?,?)", 8, 200)
			if err != nil {
				return err
			}
			for _, r := range rows[lo:min(lo+batch, len(rows))] {
				e := &w.events[r.ev]
				var uid any // as the real path: set once the number is known to be a user's
				switch r.step {
				case stepVerified, stepCreated, stepIssued, stepRevoked, stepBlocked, stepModerated:
					uid = e.user
				}
				actor, typ, detail := models.ActorAPI, "", ""
				ip, ua := e.ip, devices[e.device].userAgent
				switch r.step {
				case stepRequested:
					typ, detail = models.EventCodeRequested, "sent via "+e.channel()
				case stepSent:
					actor, typ, detail, ip, ua = models.ActorSystem, models.EventCodeSent, "via "+e.channel(), "", ""
				case stepWrongOnce:
					typ, detail = models.EventCodeFailed, "try 1 of 5"
				case stepVerified:
					typ = models.EventCodeVerified
				case stepCreated:
					typ = models.EventUserCreated
				case stepIssued:
					typ, detail = models.EventTokenIssued, fmt.Sprintf("session %d, device %q", e.session, e.devID)
				case stepSendFailed:
					actor, typ, ip, ua = models.ActorSystem, models.EventCodeSendFailed, "", ""
					detail = "via " + e.channel() + ": " + e.channel() + ": HTTP 400: 21211 Invalid 'To' Phone Number"
				case stepRevoked:
					typ, detail = models.EventTokenRevoked, models.RevokeLogout
				case stepBlocked:
					actor, typ, ip, ua = "admin:alice", models.EventAdminBlock, adminIP, adminUA
					detail = models.BlockDetail(e.until, int(e.revoked))
				case stepModerated:
					actor, typ, detail, ip, ua = "admin:alice", models.EventAdminModerate, "cleared status", adminIP, adminUA
				default:
					typ, detail = models.EventCodeFailed, fmt.Sprintf("try %d of 5", r.step-stepWrong+1)
				}
				if err := ins.add(ctx, r.at, actor, typ, e.phone(), uid, ip, ua, detail); err != nil {
					return err
				}
			}
			prog.add(min(batch, len(rows)-lo))
			return ins.flush(ctx)
		})
		if err != nil {
			return err
		}
	}
	st.Audit = int64(len(rows))
	prog.finish()
	return nil
}
