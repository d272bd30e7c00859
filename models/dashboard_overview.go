package models

import (
	"context"
	"time"
)

// Totals are the overview's figures.
type Totals struct {
	Users          int64
	SeenToday      int64 // users whose app talked to the server today (daily active)
	SeenMonth      int64 // ... in the last 30 days (monthly active)
	DeliveryFailed int64 // messages (codes) whose delivery failed for good today
	SignedInToday  int64 // users who completed a sign-in today
	ActiveTokens   int64
	CodesSent      int64
	CodesVerified  int64
	CodesFailed    int64
	CodesRequested int64
	PushesSent     int64 // push jobs handed to a provider today
	PushesFailed   int64 // push jobs of today given up
}

// DayCount is one day of a chart.
type DayCount struct {
	Day   time.Time // UTC midnight
	Count int64
}

// Overview is the overview page's data.
type Overview struct {
	Totals  Totals
	SignUps []DayCount
	Codes   []DayCount
}

// Overview computes the figures of today (UTC) and the 30-day charts.
func (d *Dashboard) Overview(ctx context.Context) (*Overview, error) {
	now := d.clock.Now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	t0 := toMillis(today)
	nowMs := toMillis(now)
	db := d.db.Read.WithContext(ctx)
	var t Totals
	counts := []struct {
		into *int64
		q    string
		args []any
	}{
		{&t.Users, "SELECT COUNT(*) FROM users", nil},
		{&t.SeenToday, "SELECT COUNT(*) FROM users WHERE seen_key >= ?", []any{t0}},
		{&t.SeenMonth, "SELECT COUNT(*) FROM users WHERE seen_key >= ?", []any{nowMs - 30*24*3600*1000}},
		{&t.DeliveryFailed, "SELECT COUNT(*) FROM " + d.db.indexedBy("outbox", "outbox_created") + " WHERE created_at >= ? AND state = 'failed' AND kind <> ?", []any{t0, OutboxKindPush}},
		{&t.PushesSent, "SELECT COUNT(*) FROM outbox WHERE kind = ? AND state = 'sent' AND sent_at >= ?", []any{OutboxKindPush, t0}},
		{&t.PushesFailed, "SELECT COUNT(*) FROM outbox WHERE kind = ? AND state = 'failed' AND created_at >= ?", []any{OutboxKindPush, t0}},
		{&t.SignedInToday, "SELECT COUNT(DISTINCT user_id) FROM audit_log WHERE type = ? AND at >= ?", []any{EventTokenIssued, t0}},
		{&t.ActiveTokens, "SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL AND expires_at > ?", []any{nowMs}},
		{&t.CodesRequested, "SELECT COUNT(*) FROM otp_codes WHERE created_at >= ?", []any{t0}},
		{&t.CodesSent, "SELECT COUNT(*) FROM audit_log WHERE type = ? AND at >= ?", []any{EventCodeSent, t0}},
		{&t.CodesVerified, "SELECT COUNT(*) FROM otp_codes WHERE created_at >= ? AND state = 'verified'", []any{t0}},
		{&t.CodesFailed, "SELECT COUNT(*) FROM audit_log WHERE type = ? AND at >= ?", []any{EventCodeFailed, t0}},
	}
	for _, c := range counts {
		if err := db.Raw(c.q, c.args...).Scan(c.into).Error; err != nil {
			return nil, err
		}
	}
	start := today.AddDate(0, 0, -29)
	signUps, err := d.perDay(ctx, "users", "created_at", start)
	if err != nil {
		return nil, err
	}
	codes, err := d.perDay(ctx, "otp_codes", "created_at", start)
	if err != nil {
		return nil, err
	}
	return &Overview{Totals: t, SignUps: signUps, Codes: codes}, nil
}

// perDay counts rows per UTC day from start for 30 days. table and col are
// constants of this file, never input.
func (d *Dashboard) perDay(ctx context.Context, table, col string, start time.Time) ([]DayCount, error) {
	var rows []struct {
		Day int64
		N   int64
	}
	const dayMs = 24 * 3600 * 1000
	err := d.db.Read.WithContext(ctx).Raw("SELECT ("+col+" - ?) / ? AS day, COUNT(*) AS n FROM "+table+
		" WHERE "+col+" >= ? GROUP BY day", toMillis(start), dayMs, toMillis(start)).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]DayCount, 30)
	for i := range out {
		out[i].Day = start.AddDate(0, 0, i)
	}
	for _, r := range rows {
		if r.Day >= 0 && r.Day < 30 {
			out[r.Day].Count = r.N
		}
	}
	return out, nil
}
