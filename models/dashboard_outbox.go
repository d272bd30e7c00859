package models

import (
	"context"
	"errors"

	"gorm.io/gorm"
)

// OutboxFilter narrows the outbox page: the channel ("" for any) and a
// range of queueing times.
type OutboxFilter struct {
	Channel string
	From    int64 // ms, inclusive; 0 = no bound
	To      int64 // ms, exclusive; 0 = no bound
}

// OutboxPage returns one keyset page of the filter's outbox messages,
// newest first, and the cursors of the pages around it.
func (d *Dashboard) OutboxPage(ctx context.Context, f OutboxFilter, k Keyset, limit int) ([]OutboxMessage, PageLinks, error) {
	q := func() *gorm.DB {
		q := d.db.Read.WithContext(ctx).Model(&OutboxMessage{})
		if f.Channel != "" {
			q = q.Where("channel = ?", f.Channel)
		}
		if f.From > 0 {
			q = q.Where("created_at >= ?", f.From)
		}
		if f.To > 0 {
			q = q.Where("created_at < ?", f.To)
		}
		return q
	}
	return keysetPage(q, k, limit, func(m *OutboxMessage) int64 { return m.ID })
}

// OutboxMessage returns one outbox message and its delivery attempts,
// oldest first (ErrNotFound: none).
func (d *Dashboard) OutboxMessage(ctx context.Context, id int64) (*OutboxMessage, []OutboxAttempt, error) {
	var m OutboxMessage
	err := d.db.Read.WithContext(ctx).Take(&m, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, ErrNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	attempts, err := (&Outbox{db: d.db}).AttemptsFor(ctx, []int64{id})
	return &m, attempts[id], err
}
