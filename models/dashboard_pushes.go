package models

import (
	"context"
	"encoding/json"
)

// PushRow is a push job on the dashboard's pushes page, with its attempts.
type PushRow struct {
	OutboxMessage
	Job      PushJob
	UserID   int64
	Attempts []OutboxAttempt
}

// RecentPushes returns the newest push jobs, newest first, with their
// attempts; failedOnly keeps those given up.
func (d *Dashboard) RecentPushes(ctx context.Context, failedOnly bool, limit int) ([]PushRow, error) {
	db := d.db.Read.WithContext(ctx)
	q := db.Where("kind = ?", OutboxKindPush)
	if failedOnly {
		q = q.Where("state = ?", OutboxFailed)
	}
	var msgs []OutboxMessage
	if err := q.Order("id DESC").Limit(limit).Find(&msgs).Error; err != nil {
		return nil, err
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
	if len(msgs) == 0 {
		return rows, nil
	}
	var as []OutboxAttempt
	if err := db.Where("outbox_id IN ?", ids).Order("id").Find(&as).Error; err != nil {
		return nil, err
	}
	byMsg := map[int64][]OutboxAttempt{}
	for _, a := range as {
		byMsg[a.OutboxID] = append(byMsg[a.OutboxID], a)
	}
	var users []User
	if err := db.Select("id", "phone").Where("phone IN ?", phones).Find(&users).Error; err != nil {
		return nil, err
	}
	byPhone := map[string]int64{}
	for _, u := range users {
		byPhone[u.Phone] = u.ID
	}
	for i := range rows {
		rows[i].Attempts = byMsg[rows[i].ID]
		rows[i].UserID = byPhone[rows[i].Recipient]
	}
	return rows, nil
}
