package models

import "context"

// Outbox returns the newest outbox messages.
func (d *Dashboard) Outbox(ctx context.Context, limit int) ([]OutboxMessage, error) {
	var msgs []OutboxMessage
	err := d.db.Read.WithContext(ctx).Order("id DESC").Limit(limit).Find(&msgs).Error
	return msgs, err
}
