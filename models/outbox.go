package models

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// OutboxMessage is a message waiting to be, or already, delivered.
type OutboxMessage struct {
	ID            int64
	Channel       string
	Recipient     string
	Body          string
	OTPID         *int64 `gorm:"column:otp_id"`
	State         string
	Attempts      int
	LastError     string
	CreatedAt     int64 `gorm:"autoCreateTime:false"`
	NextAttemptAt int64
	LeaseUntil    *int64
	SentAt        *int64
	Kind          string // OutboxKindOTP, or a background job kind such as OutboxKindMesiboRevoke
	Code          string // the bare one-time code, for channels that send it as a field; cleared with Body
	Lang          string // the language of a code's message (delivery_messages.go)
}

// TableName tells GORM the table.
func (OutboxMessage) TableName() string { return "outbox" }

// Outbox states.
const (
	OutboxPending = "pending"
	OutboxSending = "sending"
	OutboxSent    = "sent"
	OutboxFailed  = "failed"
)

// redactedBody replaces a sent message's text on channels that really reach
// people: the code must not stay readable at rest once it is delivered.
const redactedBody = "[delivered; text removed]"

// OutboxTextRemoved says why a message's text is gone when it is
// (redactedBody, redactedExpired, or nothing left), for the dashboard; ""
// while the text is kept.
func OutboxTextRemoved(body string) string {
	switch body {
	case "":
		return "text removed"
	case redactedBody:
		return "delivered; text removed"
	case redactedExpired:
		return "code expired before delivery; text removed"
	}
	return ""
}

// redactedExpired replaces the text of a code message given up because the
// code expired undelivered.
const redactedExpired = "[code expired before delivery; text removed]"

// Outbox is the persisted queue of outgoing messages.
type Outbox struct {
	db    *DB
	clock Clock
	// delays measures retry delays and leases (SteadyClock): they do not
	// grow when the system clock is stepped back. Code expiry is on clock,
	// where the codes' times were written.
	delays Clock
	// lease is how long a claimed message stays claimed: a sender that died
	// mid-send gives its messages back after it.
	lease time.Duration
	// keepBody lists channels whose sent text stays readable (the console
	// channel, whose outbox page is how a developer reads codes).
	keepBody map[string]bool
	// fallback sends a code whose delivery failed for good by its next
	// channel (SignIn.FallBack); nil: none.
	fallback func(tx *Tx, otpID int64, channel string) error
}

// OnCodeUndelivered sets what is done, in the transaction that records it,
// when a code's delivery failed for good.
func (o *Outbox) OnCodeUndelivered(f func(tx *Tx, otpID int64, channel string) error) {
	o.fallback = f
}

// NewOutbox returns the outbox. delays is the clock the worker computes
// retry times on (a SteadyClock over clock).
func NewOutbox(db *DB, clock, delays Clock, lease time.Duration, keepBodyChannels ...string) *Outbox {
	keep := map[string]bool{}
	for _, c := range keepBodyChannels {
		keep[c] = true
	}
	return &Outbox{db: db, clock: clock, delays: delays, lease: lease, keepBody: keep}
}

// Claim takes up to limit due messages for sending. On PostgreSQL the
// senders of several instances claim at once: each skips the messages
// another is claiming (FOR UPDATE SKIP LOCKED), so a message is sent once.
func (o *Outbox) Claim(ctx context.Context, limit int) ([]OutboxMessage, error) {
	now, due := toMillis(o.clock.Now()), toMillis(o.delays.Now())
	return WriteTx(ctx, o.db, func(tx *Tx) ([]OutboxMessage, error) {
		if err := o.dropExpiredCodes(tx.DB, now); err != nil {
			return nil, err
		}
		var msgs []OutboxMessage
		// Push jobs have their own sender (Pushes.Claim).
		err := claiming(tx.DB).Where("kind <> ? AND ((state = ? AND next_attempt_at <= ?) OR (state = ? AND lease_until < ?))",
			OutboxKindPush, OutboxPending, due, OutboxSending, due).
			// A group's jobs run in the order of its changes: one that
			// failed and waits for its retry holds up the later ones, or
			// mesibo would end up with its members added after they were
			// removed. (Literals: the partial index outbox_group_jobs.)
			Where(`NOT (kind = '` + OutboxKindMesiboGroup + `' AND EXISTS (SELECT 1 FROM outbox older
				WHERE older.kind = '` + OutboxKindMesiboGroup + `' AND older.recipient = outbox.recipient AND older.id < outbox.id
				AND older.state IN ('` + OutboxPending + `', '` + OutboxSending + `')))`).
			// Codes first: a person is waiting for them, while a popular
			// user's join can queue thousands of notices.
			Clauses(clause.OrderBy{Expression: clause.Expr{SQL: "kind = ? DESC, next_attempt_at", Vars: []any{OutboxKindOTP}}}).
			Limit(limit).Find(&msgs).Error
		if err != nil || len(msgs) == 0 {
			return nil, err
		}
		ids := make([]int64, len(msgs))
		for i := range msgs {
			ids[i] = msgs[i].ID
			msgs[i].Attempts++
			msgs[i].State = OutboxSending
		}
		return msgs, tx.Model(&OutboxMessage{}).Where("id IN ?", ids).Updates(map[string]any{
			"state": OutboxSending, "attempts": gorm.Expr("attempts + 1"), "lease_until": due + o.lease.Milliseconds(),
		}).Error
	})
}

// dropExpiredCodes gives up messages whose code expired while they waited (a
// provider outage, say): a dead code would only confuse the person. Their
// text and code are removed on every channel, the console's too: nobody
// will ever read them, and a code must not wait at rest in plain text. A
// message given up earlier with its code still stored loses it as well.
func (o *Outbox) dropExpiredCodes(tx *gorm.DB, now int64) error {
	const expired = `otp_id IS NOT NULL AND EXISTS (SELECT 1 FROM otp_codes c WHERE c.id = outbox.otp_id AND c.expires_at <= ?)`
	if err := tx.Exec(`UPDATE outbox SET state = ?, last_error = ?, body = ?, code = '' WHERE state IN (?, ?) AND `+expired,
		OutboxFailed, "the code expired before it could be delivered", redactedExpired, OutboxPending, OutboxSending, now).Error; err != nil {
		return err
	}
	return tx.Exec(`UPDATE outbox SET body = ?, code = '' WHERE state = ? AND code <> '' AND `+expired,
		redactedExpired, OutboxFailed, now).Error
}

// MarkSent records a delivery and its attempt. Recording is once per
// claim: the outcome of an attempt already recorded (a retried record
// whose first COMMIT went through unanswered), or of a message claimed
// again since, changes nothing.
func (o *Outbox) MarkSent(ctx context.Context, m *OutboxMessage, info AttemptInfo) error {
	now := toMillis(o.clock.Now())
	updates := map[string]any{"state": OutboxSent, "sent_at": now, "lease_until": nil, "last_error": ""}
	if !o.keepBody[m.Channel] {
		updates["body"] = redactedBody
		updates["code"] = ""
	}
	return o.db.WriteTx(ctx, func(tx *Tx) error {
		if recorded, err := recordOutcome(tx.DB, m, updates); err != nil || !recorded {
			return err
		}
		if err := recordAttempt(tx.DB, m, now, AttemptSent, "", info); err != nil {
			return err
		}
		if sentEvent(m.Kind) == "" {
			return nil
		}
		return audit(tx.DB, auditEntry(now, ActorSystem, sentEvent(m.Kind), m.Recipient, nil, ClientInfo{}, "via "+m.Channel))
	})
}

// MarkFailed records a failed attempt: the message is retried at retryAt, or
// given up when retryAt is zero. Like MarkSent, once per claim.
func (o *Outbox) MarkFailed(ctx context.Context, m *OutboxMessage, cause string, retryAt time.Time, info AttemptInfo) error {
	now := toMillis(o.clock.Now())
	cause = truncate(cause, 1000)
	updates := map[string]any{"last_error": cause, "lease_until": nil}
	final := retryAt.IsZero()
	status := AttemptRetry
	if final {
		status = AttemptFailed
		updates["state"] = OutboxFailed
		if !o.keepBody[m.Channel] {
			updates["body"] = redactedBody
			updates["code"] = ""
		}
	} else {
		updates["state"] = OutboxPending
		updates["next_attempt_at"] = toMillis(retryAt)
	}
	return o.db.WriteTx(ctx, func(tx *Tx) error {
		if recorded, err := recordOutcome(tx.DB, m, updates); err != nil || !recorded {
			return err
		}
		if err := recordAttempt(tx.DB, m, now, status, cause, info); err != nil {
			return err
		}
		if !final || failedEvent(m.Kind) == "" {
			return nil
		}
		if err := audit(tx.DB, auditEntry(now, ActorSystem, failedEvent(m.Kind), m.Recipient, nil, ClientInfo{},
			"via "+m.Channel+": "+cause)); err != nil {
			return err
		}
		if o.fallback == nil || m.Kind != OutboxKindOTP || m.OTPID == nil {
			return nil
		}
		return o.fallback(tx, *m.OTPID, m.Channel)
	})
}

// recordOutcome applies updates to m while it is still under the claim
// that m was read with (sending, this attempt); false when it no longer is.
func recordOutcome(tx *gorm.DB, m *OutboxMessage, updates map[string]any) (bool, error) {
	res := tx.Model(&OutboxMessage{}).Where("id = ? AND state = ? AND attempts = ?", m.ID, OutboxSending, m.Attempts).Updates(updates)
	return res.RowsAffected > 0, res.Error
}

// Recent returns the newest messages, newest first.
func (o *Outbox) Recent(ctx context.Context, limit int) ([]OutboxMessage, error) {
	var msgs []OutboxMessage
	err := o.db.Read.WithContext(ctx).Order("id DESC").Limit(limit).Find(&msgs).Error
	return msgs, err
}
