package models

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Each attempt is recorded with the state change it caused, and the text of
// a real channel's message is gone once it is sent or given up.
func TestOutboxAttempts(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, db *DB) {
		clock := NewFakeClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
		ob := NewOutbox(db, clock, clock, time.Minute, "console")
		ctx := context.Background()
		now := toMillis(clock.Now())
		for _, m := range []*OutboxMessage{
			{Channel: "twilio", Kind: OutboxKindOTP, Recipient: "+12015550123", Body: "111111 is your code", Code: "111111", State: OutboxPending, CreatedAt: now, NextAttemptAt: now},
			{Channel: "webhook", Kind: OutboxKindOTP, Recipient: "+33612345678", Body: "222222 is your code", Code: "222222", State: OutboxPending, CreatedAt: now, NextAttemptAt: now},
		} {
			if err := db.Write.Create(m).Error; err != nil {
				t.Fatal(err)
			}
		}
		msgs, err := ob.Claim(ctx, 10)
		if err != nil || len(msgs) != 2 {
			t.Fatalf("claim: %d %v", len(msgs), err)
		}
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(ob.MarkFailed(ctx, &msgs[0], "twilio: HTTP 503: down", clock.Now().Add(time.Second), AttemptInfo{HTTPStatus: 503, Duration: 40 * time.Millisecond}))
		must(ob.MarkFailed(ctx, &msgs[1], "webhook: HTTP 422: no", time.Time{}, AttemptInfo{HTTPStatus: 422}))
		clock.Advance(2 * time.Second)
		again, err := ob.Claim(ctx, 10)
		if err != nil || len(again) != 1 || again[0].ID != msgs[0].ID {
			t.Fatalf("second claim: %+v %v", again, err)
		}
		must(ob.MarkSent(ctx, &again[0], AttemptInfo{HTTPStatus: 201, ProviderRef: "SM1"}))

		byID, err := ob.AttemptsFor(ctx, []int64{msgs[0].ID, msgs[1].ID})
		if err != nil {
			t.Fatal(err)
		}
		a0, a1 := byID[msgs[0].ID], byID[msgs[1].ID]
		if len(a0) != 2 || a0[0].Status != AttemptRetry || a0[0].HTTPStatus != 503 || a0[0].DurationMs != 40 || a0[0].Attempt != 1 ||
			a0[1].Status != AttemptSent || a0[1].ProviderRef != "SM1" || a0[1].Attempt != 2 {
			t.Errorf("attempts of the retried message: %+v", a0)
		}
		if len(a1) != 1 || a1[0].Status != AttemptFailed || a1[0].Error != "webhook: HTTP 422: no" {
			t.Errorf("attempts of the failed message: %+v", a1)
		}
		single, err := ob.Attempts(ctx, msgs[1].ID)
		if err != nil || len(single) != 1 {
			t.Errorf("Attempts: %+v %v", single, err)
		}
		var rows []OutboxMessage
		must(db.Read.Order("id").Find(&rows).Error)
		for _, r := range rows {
			if r.Body != redactedBody || r.Code != "" {
				t.Errorf("row %d keeps its text: %q %q", r.ID, r.Body, r.Code)
			}
		}
		if _, err := ob.AttemptsFor(ctx, nil); err != nil {
			t.Error(errors.Unwrap(err))
		}
	})
}

// An outcome is recorded once per claim: recorded again (a retried record
// whose first COMMIT went through unanswered) it adds nothing, and the
// outcome of a claim whose lease ended and was claimed again since changes
// nothing either.
func TestOutboxRecordsOnceAClaim(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, db *DB) {
		clock := NewFakeClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
		ob := NewOutbox(db, clock, clock, time.Minute)
		ctx := context.Background()
		now := toMillis(clock.Now())
		for range 2 {
			if err := db.Write.Create(&OutboxMessage{Channel: "twilio", Kind: OutboxKindOTP, Recipient: "+12015550123",
				Body: "111111 is your code", State: OutboxPending, CreatedAt: now, NextAttemptAt: now}).Error; err != nil {
				t.Fatal(err)
			}
		}
		first, err := ob.Claim(ctx, 1)
		if err != nil || len(first) != 1 {
			t.Fatalf("claim: %v %v", first, err)
		}
		for range 2 {
			if err := ob.MarkSent(ctx, &first[0], AttemptInfo{HTTPStatus: 201}); err != nil {
				t.Fatal(err)
			}
		}
		stale, err := ob.Claim(ctx, 1)
		if err != nil || len(stale) != 1 {
			t.Fatalf("claim: %v %v", stale, err)
		}
		clock.Advance(2 * time.Minute) // its lease ends; claimed again
		again, err := ob.Claim(ctx, 1)
		if err != nil || len(again) != 1 || again[0].ID != stale[0].ID {
			t.Fatalf("claim after the lease: %v %v", again, err)
		}
		if err := ob.MarkFailed(ctx, &stale[0], "late", time.Time{}, AttemptInfo{}); err != nil {
			t.Fatal(err)
		}
		var n int64
		if err := db.Read.Raw("SELECT COUNT(*) FROM outbox_attempts").Scan(&n).Error; err != nil || n != 1 {
			t.Errorf("%d attempts recorded, want 1 (%v)", n, err)
		}
		if err := db.Read.Raw("SELECT COUNT(*) FROM audit_log").Scan(&n).Error; err != nil || n != 1 {
			t.Errorf("%d audit entries, want 1 (%v)", n, err)
		}
		var state string
		if err := db.Read.Raw("SELECT state FROM outbox WHERE id = ?", again[0].ID).Scan(&state).Error; err != nil || state != OutboxSending {
			t.Errorf("the message claimed again is %q, want still sending (%v)", state, err)
		}
	})
}
