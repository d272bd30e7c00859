package models

import (
	"context"
	"encoding/json"
	"time"

	"gorm.io/gorm"
)

// pushTTL is how long a push job may wait: the providers keep a message
// an hour at most (its TTL), and a notice older than that is better
// dropped than delivered late; the app syncs at its next start anyway.
const pushTTL = time.Hour

// Pushes is the push jobs' side of the outbox: claiming due jobs with
// their device's current token, and recording outcomes with what they mean
// for the token.
type Pushes struct {
	db     *DB
	clock  Clock
	delays Clock // retry times and leases (a SteadyClock over clock)
	lease  time.Duration
}

// NewPushes returns the push jobs' store.
func NewPushes(db *DB, clock, delays Clock, lease time.Duration) *Pushes {
	return &Pushes{db: db, clock: clock, delays: delays, lease: lease}
}

// PushDelivery is a claimed push job with what sending it needs.
type PushDelivery struct {
	Msg      OutboxMessage
	Job      PushJob
	Provider string // PushFCM or PushAPNs, from the token as it is now
	Token    string
	Sandbox  bool // APNs development environment (setnotify's prod=0)
}

// pushSession is what a claim reads of a job's session.
type pushSession struct {
	ID           int64
	NotifyToken  string
	FcmID        string
	NotifyProd   bool
	PushDisabled string
	RevokedAt    *int64
}

// Claim takes up to limit due push jobs. On PostgreSQL several instances
// claim at once and each skips the jobs another is claiming (FOR UPDATE
// SKIP LOCKED): a job is sent once. A job whose device has no usable
// token any more (removed, replaced by a token of another provider,
// disabled, signed out), or that waited longer than the push TTL, is
// given up in the same transaction, never sent.
func (p *Pushes) Claim(ctx context.Context, limit int) ([]PushDelivery, error) {
	now, due := toMillis(p.clock.Now()), toMillis(p.delays.Now())
	return WriteTx(ctx, p.db, func(tx *Tx) ([]PushDelivery, error) {
		var msgs []OutboxMessage
		err := claiming(tx.DB).Where("kind = ? AND ((state = ? AND next_attempt_at <= ?) OR (state = ? AND lease_until < ?))",
			OutboxKindPush, OutboxPending, due, OutboxSending, due).Order("next_attempt_at, id").Limit(limit).Find(&msgs).Error
		if err != nil || len(msgs) == 0 {
			return nil, err
		}
		jobs := make([]PushJob, len(msgs))
		sessionIDs := make([]int64, 0, len(msgs))
		for i := range msgs {
			_ = json.Unmarshal([]byte(msgs[i].Body), &jobs[i]) // an unreadable job has session 0: given up below
			sessionIDs = append(sessionIDs, jobs[i].SessionID)
		}
		var sessions []pushSession
		if err := tx.Model(&Session{}).Where("id IN ?", sessionIDs).Find(&sessions).Error; err != nil {
			return nil, err
		}
		byID := make(map[int64]pushSession, len(sessions))
		for _, s := range sessions {
			byID[s.ID] = s
		}
		var out []PushDelivery
		var sending []int64
		gone := map[string][]int64{}
		for i := range msgs {
			s, ok := byID[jobs[i].SessionID]
			provider, token := PushRoute(s.NotifyToken, s.FcmID)
			switch {
			case msgs[i].CreatedAt < now-pushTTL.Milliseconds():
				gone["the notice is older than the push TTL"] = append(gone["the notice is older than the push TTL"], msgs[i].ID)
			case !ok || s.RevokedAt != nil || provider == "":
				gone["the device has no push token any more"] = append(gone["the device has no push token any more"], msgs[i].ID)
			case s.PushDisabled != "":
				gone["the device's push token is disabled"] = append(gone["the device's push token is disabled"], msgs[i].ID)
			default:
				m := msgs[i]
				m.Attempts++
				m.State = OutboxSending
				sending = append(sending, m.ID)
				out = append(out, PushDelivery{Msg: m, Job: jobs[i], Provider: provider, Token: token, Sandbox: !s.NotifyProd})
			}
		}
		for cause, ids := range gone {
			// The provider's last answer, if any, stays after the cause.
			if err := tx.Model(&OutboxMessage{}).Where("id IN ?", ids).Updates(map[string]any{
				"state": OutboxFailed, "lease_until": nil,
				"last_error": gorm.Expr("CASE WHEN last_error = '' THEN ? ELSE ? || '; last answer: ' || last_error END", cause, cause),
			}).Error; err != nil {
				return nil, err
			}
		}
		if len(sending) == 0 {
			return nil, nil
		}
		return out, tx.Model(&OutboxMessage{}).Where("id IN ?", sending).Updates(map[string]any{
			"state": OutboxSending, "attempts": gorm.Expr("attempts + 1"), "lease_until": due + p.lease.Milliseconds(),
		}).Error
	})
}

// Token actions of a push outcome.
const (
	PushTokenKeep    = ""
	PushTokenRemove  = "remove"  // the provider says the token is dead
	PushTokenDisable = "disable" // the token belongs to another sender (Firebase project)
)

// PushOutcome is what one attempt at a push job came to.
type PushOutcome struct {
	Delivery PushDelivery
	Info     AttemptInfo
	Err      string    // "" = delivered to the provider
	RetryAt  time.Time // a failure: when to try again; zero = given up
	Token    string    // PushTokenKeep, PushTokenRemove or PushTokenDisable
	// InvalidSince: the provider found the token dead at this time (APNs'
	// 410); a token set again after it is kept.
	InvalidSince time.Time
}

// Record writes the outcomes of one batch in one transaction: each job's
// state and attempt (once per claim, as the outbox's), the session's last
// push result, and what the provider said of its token. A token is removed
// or disabled only while it is still the session's, so a token the app set
// anew since is kept.
func (p *Pushes) Record(ctx context.Context, outs []PushOutcome) error {
	now := toMillis(p.clock.Now())
	return p.db.WriteTx(ctx, func(tx *Tx) error {
		var delivered []*PushOutcome
		for i := range outs {
			if outs[i].Err == "" {
				delivered = append(delivered, &outs[i])
				continue
			}
			if err := recordPush(tx.DB, &outs[i], now); err != nil {
				return err
			}
		}
		return recordDelivered(tx.DB, delivered, now)
	})
}

// recordDelivered records delivered pushes a few statements per batch
// rather than three per push: the writer is shared with sign-ins, and a
// 10,000-recipient join must not hold it for long. As recordPush, once
// per claim (the attempt number is in the condition).
func recordDelivered(tx *gorm.DB, outs []*PushOutcome, now int64) error {
	byAttempt := map[int][]int64{}
	byID := map[int64]*PushOutcome{}
	for _, o := range outs {
		m := &o.Delivery.Msg
		byAttempt[m.Attempts] = append(byAttempt[m.Attempts], m.ID)
		byID[m.ID] = o
	}
	var attempts []OutboxAttempt
	var sessions []int64
	for attempt, ids := range byAttempt {
		var recorded []int64
		if err := tx.Raw(`UPDATE outbox SET state = ?, sent_at = ?, lease_until = NULL, last_error = ''
			WHERE id IN ? AND state = ? AND attempts = ? RETURNING id`, OutboxSent, now, ids, OutboxSending, attempt).
			Scan(&recorded).Error; err != nil {
			return err
		}
		for _, id := range recorded {
			o := byID[id]
			attempts = append(attempts, OutboxAttempt{OutboxID: id, Attempt: attempt, At: now, Channel: o.Delivery.Msg.Channel,
				Status: AttemptSent, HTTPStatus: o.Info.HTTPStatus, ProviderRef: truncate(o.Info.ProviderRef, 128),
				DurationMs: o.Info.Duration.Milliseconds()})
			sessions = append(sessions, o.Delivery.Job.SessionID)
		}
	}
	if len(attempts) == 0 {
		return nil
	}
	if err := tx.CreateInBatches(attempts, 200).Error; err != nil {
		return err
	}
	return tx.Model(&Session{}).Where("id IN ?", sessions).
		Updates(map[string]any{"push_result": "sent", "push_result_at": now}).Error
}

// recordPush records one outcome. A push job's body stays: it holds the
// session and the notice's type, nothing secret, and the dashboard shows it.
func recordPush(tx *gorm.DB, o *PushOutcome, now int64) error {
	m := &o.Delivery.Msg
	updates := map[string]any{"lease_until": nil, "last_error": truncate(o.Err, 1000)}
	status, result := AttemptSent, "sent"
	switch {
	case o.Err == "":
		updates["state"], updates["sent_at"] = OutboxSent, now
	case o.RetryAt.IsZero():
		status, result = AttemptFailed, "failed: "+o.Err
		updates["state"] = OutboxFailed
	default:
		status, result = AttemptRetry, "retrying: "+o.Err
		updates["state"], updates["next_attempt_at"] = OutboxPending, toMillis(o.RetryAt)
	}
	if recorded, err := recordOutcome(tx, m, updates); err != nil || !recorded {
		return err
	}
	if err := recordAttempt(tx, m, now, status, truncate(o.Err, 1000), o.Info); err != nil {
		return err
	}
	sessionID, token := o.Delivery.Job.SessionID, o.Delivery.Token
	if err := tx.Model(&Session{}).Where("id = ?", sessionID).
		Updates(map[string]any{"push_result": truncate(result, 200), "push_result_at": now}).Error; err != nil {
		return err
	}
	switch o.Token {
	case PushTokenRemove:
		setBefore := now + 1
		if !o.InvalidSince.IsZero() {
			setBefore = toMillis(o.InvalidSince)
		}
		for _, col := range []string{"notify_token", "fcm_id"} {
			if err := tx.Model(&Session{}).Where("id = ? AND "+col+" = ? AND push_set_at < ?", sessionID, token, setBefore).
				Update(col, "").Error; err != nil {
				return err
			}
		}
	case PushTokenDisable:
		return tx.Model(&Session{}).Where("id = ? AND (notify_token = ? OR fcm_id = ?)", sessionID, token, token).
			Update("push_disabled", truncate(o.Err, 200)).Error
	}
	return nil
}

// PrunePushTokens removes the push tokens of sessions unused since cutoff
// (FCM drops a token unused for 270 days) and the rows of event streams
// that lapsed.
func PrunePushTokens(ctx context.Context, db *DB, cutoff, now time.Time) (int64, error) {
	return WriteTx(ctx, db, func(tx *Tx) (int64, error) {
		res := tx.Model(&Session{}).Where("last_used_at < ? AND (notify_token <> '' OR fcm_id <> '')", toMillis(cutoff)).
			Updates(map[string]any{"notify_token": "", "fcm_id": ""})
		if res.Error != nil {
			return 0, res.Error
		}
		streams := tx.Where("expires_at < ?", toMillis(now)).Delete(&LiveStream{})
		return res.RowsAffected + streams.RowsAffected, streams.Error
	})
}
