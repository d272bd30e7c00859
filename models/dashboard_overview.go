package models

import (
	"context"
	"time"
)

// Totals are the overview's figures. Each but ActiveTokens is the total of
// a dashboard list with the same filter (the overview links to it): "today"
// is the UTC day so far, the audit, codes and pushes lists' date range of
// that day. No list shows every user's live sessions.
type Totals struct {
	Users          int64
	SeenDay        int64 // users whose app talked to the server in the last 24 hours (the users list's active=1)
	SeenMonth      int64 // ... in the last 30 days (active=30)
	DeliveryFailed int64 // codes requested today whose message failed for good
	SignInsToday   int64 // token_issued entries today: sign-ins completed
	ActiveTokens   int64 // sessions neither revoked nor expired, of every user
	CodesSent      int64 // code_sent entries today
	CodesVerified  int64 // codes requested today and verified
	CodesFailed    int64 // code_failed entries today: wrong codes
	CodesRequested int64 // codes requested today
	PushesSent     int64 // push jobs queued today and handed to a provider (the pushes list's state=sent)
	PushesFailed   int64 // push jobs queued today and given up (state=failed)
}

// DayCount is one day of a chart.
type DayCount struct {
	Day   time.Time // UTC midnight
	Count int64
}

// Overview is the overview page's data.
type Overview struct {
	Today   time.Time // UTC midnight: the start of the figures' "today"
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
		{&t.SeenDay, "SELECT COUNT(*) FROM users WHERE seen_key >= ?", []any{nowMs - 24*3600*1000}},
		{&t.SeenMonth, "SELECT COUNT(*) FROM users WHERE seen_key >= ?", []any{nowMs - 30*24*3600*1000}},
		{&t.ActiveTokens, "SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL AND expires_at > ?", []any{nowMs}},
	}
	for _, c := range counts {
		if err := db.Raw(c.q, c.args...).Scan(c.into).Error; err != nil {
			return nil, err
		}
	}
	codes := []struct {
		into *int64
		f    CodeFilter
	}{
		{&t.CodesRequested, CodeFilter{From: t0}},
		{&t.CodesVerified, CodeFilter{From: t0, Verified: true}},
		{&t.DeliveryFailed, CodeFilter{From: t0, DeliveryFailed: true}},
	}
	for _, c := range codes {
		n, err := d.CountCodes(ctx, c.f)
		if err != nil {
			return nil, err
		}
		*c.into = n
	}
	for _, c := range []struct {
		into  *int64
		state string
	}{{&t.PushesSent, OutboxSent}, {&t.PushesFailed, OutboxFailed}} {
		n, err := d.CountPushes(ctx, PushFilter{State: c.state, From: t0})
		if err != nil {
			return nil, err
		}
		*c.into = n
	}
	entries := []struct {
		into *int64
		typ  string
	}{
		{&t.SignInsToday, EventTokenIssued},
		{&t.CodesSent, EventCodeSent},
		{&t.CodesFailed, EventCodeFailed},
	}
	for _, c := range entries {
		n, err := d.CountAudit(ctx, AuditFilter{Type: c.typ, From: t0})
		if err != nil {
			return nil, err
		}
		*c.into = n
	}
	start := today.AddDate(0, 0, -29)
	signUps, err := d.perDay(ctx, "users", "created_at", start)
	if err != nil {
		return nil, err
	}
	perDayCodes, err := d.perDay(ctx, "otp_codes", "created_at", start)
	if err != nil {
		return nil, err
	}
	return &Overview{Today: today, Totals: t, SignUps: signUps, Codes: perDayCodes}, nil
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
