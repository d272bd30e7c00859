package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// Outbox message kinds. One-time codes are the outbox's first use; mesibo
// token revocations share its persistence, lease and retries.
const (
	OutboxKindOTP          = "otp"
	OutboxKindMesiboRevoke = "mesibo_revoke"
	// OutboxKindMesiboNotice is a contact notice sent as a mesibo message:
	// one row per recipient, written by the fan-out.
	OutboxKindMesiboNotice = "mesibo_notice"
	// OutboxKindMesiboGroup is a group made or changed at mesibo (mesibo
	// mode), visible as outbox attempts.
	OutboxKindMesiboGroup = "mesibo_group"
)

// Attempt outcomes.
const (
	AttemptSent   = "sent"
	AttemptRetry  = "retry"  // failed; the message will be tried again
	AttemptFailed = "failed" // failed; the message was given up
)

// OutboxAttempt is one delivery attempt of an outbox message.
type OutboxAttempt struct {
	ID          int64
	OutboxID    int64
	Attempt     int
	At          int64
	Channel     string
	Status      string
	HTTPStatus  int `gorm:"column:http_status"`
	ProviderRef string
	Error       string
	DurationMs  int64
	// Receipt is what the provider reported later (Receipt*; "" for
	// none yet), at ReceiptAt, with its error (delivery_receipts.go).
	Receipt      string
	ReceiptAt    *int64
	ReceiptError string
}

// TableName tells GORM the table.
func (OutboxAttempt) TableName() string { return "outbox_attempts" }

// AttemptInfo is what a channel tells about one attempt besides success or
// failure.
type AttemptInfo struct {
	HTTPStatus  int    // the provider's HTTP status; 0 when there was none
	ProviderRef string // the provider's id of the message
	Duration    time.Duration
}

func recordAttempt(tx *gorm.DB, m *OutboxMessage, at int64, status, cause string, info AttemptInfo) error {
	return tx.Create(&OutboxAttempt{
		OutboxID: m.ID, Attempt: m.Attempts, At: at, Channel: m.Channel, Status: status,
		HTTPStatus: info.HTTPStatus, ProviderRef: truncate(info.ProviderRef, 128), Error: cause,
		DurationMs: info.Duration.Milliseconds(),
	}).Error
}

// Attempts returns the delivery attempts of one outbox message, oldest first
// (for the dashboard).
func (o *Outbox) Attempts(ctx context.Context, outboxID int64) ([]OutboxAttempt, error) {
	var as []OutboxAttempt
	err := o.db.Read.WithContext(ctx).Where("outbox_id = ?", outboxID).Order("id").Find(&as).Error
	return as, err
}

// sentEvent is the audit entry of a delivery; "" for contact notices, which
// are many (one per recipient) and visible as outbox attempts.
func sentEvent(kind string) string {
	switch kind {
	case OutboxKindMesiboRevoke:
		return EventMesiboRevoked
	case OutboxKindMesiboNotice, OutboxKindMesiboGroup:
		return ""
	}
	return EventCodeSent
}

func failedEvent(kind string) string {
	switch kind {
	case OutboxKindMesiboRevoke:
		return EventMesiboRevokeFailed
	case OutboxKindMesiboNotice, OutboxKindMesiboGroup:
		return ""
	}
	return EventCodeSendFailed
}

// AttemptsFor returns the attempts of several messages at once, keyed by
// outbox id, oldest first (for list pages, without one query per row).
func (o *Outbox) AttemptsFor(ctx context.Context, outboxIDs []int64) (map[int64][]OutboxAttempt, error) {
	out := make(map[int64][]OutboxAttempt, len(outboxIDs))
	if len(outboxIDs) == 0 {
		return out, nil
	}
	var as []OutboxAttempt
	if err := o.db.Read.WithContext(ctx).Where("outbox_id IN ?", outboxIDs).Order("id").Find(&as).Error; err != nil {
		return nil, err
	}
	for _, a := range as {
		out[a.OutboxID] = append(out[a.OutboxID], a)
	}
	return out, nil
}
