package models

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
)

// A token found unknown once is refused again without a lookup when the
// sessions remember unknown tokens: a session that appears later with it
// (which only an issuer handing out a token twice could make) is not seen.
// Without the memory (mesibo mode) it is seen. Revoked sessions are not
// remembered as unknown: the row is what refuses them.
func TestUnknownTokensRemembered(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		clock := NewFakeClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
		now := clock.Now().UnixMilli()
		remembering := NewSessions(db, clock, time.Minute)
		remembering.RememberUnknownTokens()
		plain := NewSessions(db, clock, time.Minute)
		late, revoked := strings.Repeat("a", 64), strings.Repeat("b", 64)
		for _, s := range []*Sessions{remembering, plain} {
			if _, err := s.Authenticate(ctx, late); !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("unknown token: %v", err)
			}
		}
		err := db.Write.Transaction(func(tx *gorm.DB) error {
			u := &User{Phone: "+12015550123", CountryCode: 1, Discoverable: "everyone", CreatedAt: now, ProfileAt: now}
			if err := tx.Create(u).Error; err != nil {
				return err
			}
			if err := tx.Create(&Session{UserID: u.ID, TokenHash: HashToken(late), CreatedAt: now, LastUsedAt: now,
				ExpiresAt: now + time.Hour.Milliseconds()}).Error; err != nil {
				return err
			}
			return tx.Create(&Session{UserID: u.ID, TokenHash: HashToken(revoked), CreatedAt: now, LastUsedAt: now,
				ExpiresAt: now + time.Hour.Milliseconds(), RevokedAt: &now, RevokeReason: RevokeLogout}).Error
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := remembering.Authenticate(ctx, late); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("remembered unknown token: %v, want refused without a lookup", err)
		}
		if p, err := plain.Authenticate(ctx, late); err != nil || p.User.Phone != "+12015550123" {
			t.Errorf("without the memory: %+v %v", p, err)
		}
		// The revoked session is found (and refused) each time, never
		// remembered: the next lookup reads its row again.
		for range 2 {
			if _, err := remembering.Authenticate(ctx, revoked); !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("revoked token: %v", err)
			}
		}
		if remembering.unknown.has(HashToken(revoked)) {
			t.Error("a revoked session's token was remembered as unknown")
		}
	})
}
