package models

import (
	"context"
	"encoding/json"

	"gorm.io/gorm"
)

// PushRow is a push job on the dashboard's pushes page, with its attempts.
type PushRow struct {
	OutboxMessage
	Job      PushJob
	UserID   int64
	Attempts []OutboxAttempt
}

// PushFilter narrows the pushes page: the job's state ("" for any), its
// provider ("" for any) and a range of queueing times. The overview's push
// figures are totals of this filter (Totals).
type PushFilter struct {
	State    string
	Provider string
	From     int64 // ms, inclusive; 0 = no bound
	To       int64 // ms, exclusive; 0 = no bound
}

// pushes is the query of the filter's push jobs.
func (d *Dashboard) pushes(ctx context.Context, f PushFilter) *gorm.DB {
	q := d.db.Read.WithContext(ctx).Model(&OutboxMessage{}).Where("kind = ?", OutboxKindPush)
	if f.State != "" {
		q = q.Where("state = ?", f.State)
	}
	if f.Provider != "" {
		q = q.Where("channel = ?", f.Provider)
	}
	if f.From > 0 {
		q = q.Where("created_at >= ?", f.From)
	}
	if f.To > 0 {
		q = q.Where("created_at < ?", f.To)
	}
	return q
}

// CountPushes counts the filter's push jobs.
func (d *Dashboard) CountPushes(ctx context.Context, f PushFilter) (int64, error) {
	var n int64
	err := d.pushes(ctx, f).Count(&n).Error
	return n, err
}

// PushPage returns one keyset page of the filter's push jobs, newest
// first, with their attempts, and the cursors of the pages around it.
func (d *Dashboard) PushPage(ctx context.Context, f PushFilter, k Keyset, limit int) ([]PushRow, PageLinks, error) {
	msgs, links, err := keysetPage(func() *gorm.DB { return d.pushes(ctx, f) }, k, limit, func(m *OutboxMessage) int64 { return m.ID })
	if err != nil || len(msgs) == 0 {
		return nil, links, err
	}
	rows := make([]PushRow, len(msgs))
	ids := make([]int64, len(msgs))
	phones := make([]string, 0, len(msgs))
	for i, m := range msgs {
		rows[i].OutboxMessage = m
		_ = json.Unmarshal([]byte(m.Body), &rows[i].Job) // a body that is not a job shows no type
		ids[i] = m.ID
		phones = append(phones, m.Recipient)
	}
	db := d.db.Read.WithContext(ctx)
	var as []OutboxAttempt
	if err := db.Where("outbox_id IN ?", ids).Order("id").Find(&as).Error; err != nil {
		return nil, links, err
	}
	byMsg := map[int64][]OutboxAttempt{}
	for _, a := range as {
		byMsg[a.OutboxID] = append(byMsg[a.OutboxID], a)
	}
	var users []User
	if err := db.Select("id", "phone").Where("phone IN ?", phones).Find(&users).Error; err != nil {
		return nil, links, err
	}
	byPhone := map[string]int64{}
	for _, u := range users {
		byPhone[u.Phone] = u.ID
	}
	for i := range rows {
		rows[i].Attempts = byMsg[rows[i].ID]
		rows[i].UserID = byPhone[rows[i].Recipient]
	}
	return rows, links, nil
}
