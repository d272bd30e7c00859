package models

import (
	"context"
)

// Delivery receipts: what a provider reports, after accepting a message, of
// its delivery (Twilio's status callback, WhatsApp's webhook). They are
// recorded on the attempt the provider's message id belongs to; an
// undelivered code moves to its next channel (delivery_fallback.go).

// Receipt statuses, as stored on an attempt.
const (
	ReceiptSent        = "sent"        // handed to the network
	ReceiptDelivered   = "delivered"   // on the phone
	ReceiptRead        = "read"        // opened (WhatsApp)
	ReceiptUndelivered = "undelivered" // the network could not deliver it
	ReceiptFailed      = "failed"      // the provider could not send it
)

// receiptReplaces lists the receipts a new one may replace: receipts come
// out of order, and a late "sent" must not hide a "delivered".
func receiptReplaces(status string) []string {
	switch status {
	case ReceiptSent:
		return []string{""}
	case ReceiptDelivered, ReceiptUndelivered, ReceiptFailed:
		return []string{"", ReceiptSent}
	case ReceiptRead:
		return []string{"", ReceiptSent, ReceiptDelivered}
	}
	return nil
}

// RecordReceipt records a provider's receipt for the attempt of channel
// whose provider id is providerRef; cause is the provider's error, if any.
// It reports whether an attempt took it (false: an unknown id, a status
// Roster does not record, or one older than the attempt's). An undelivered
// or failed code still pending is sent again by its next channel, in the
// same transaction.
func (o *Outbox) RecordReceipt(ctx context.Context, channel, providerRef, status, cause string) (bool, error) {
	replaces := receiptReplaces(status)
	if providerRef == "" || replaces == nil {
		return false, nil
	}
	now := toMillis(o.clock.Now())
	return WriteTx(ctx, o.db, func(tx *Tx) (bool, error) {
		// One statement: two receipts at once (two instances) each apply
		// only over what they may replace.
		res := tx.Model(&OutboxAttempt{}).Where("provider_ref = ? AND channel = ? AND receipt IN ?", providerRef, channel, replaces).
			Updates(map[string]any{"receipt": status, "receipt_at": now, "receipt_error": truncate(cause, 1000)})
		if res.Error != nil || res.RowsAffected == 0 {
			return false, res.Error
		}
		if (status != ReceiptUndelivered && status != ReceiptFailed) || o.fallback == nil {
			return true, nil
		}
		var otpIDs []int64
		err := tx.Raw(`SELECT m.otp_id FROM outbox m JOIN outbox_attempts a ON a.outbox_id = m.id
			WHERE a.provider_ref = ? AND a.channel = ? AND m.kind = ? AND m.otp_id IS NOT NULL LIMIT 1`,
			providerRef, channel, OutboxKindOTP).Scan(&otpIDs).Error
		if err != nil || len(otpIDs) == 0 {
			return true, err
		}
		return true, o.fallback(tx, otpIDs[0], channel)
	})
}
