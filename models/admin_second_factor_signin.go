package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// PendingSession returns the session of a raw id that waits for its
// second factor, and its admin; ErrAdminSessionEnded when there is none or
// its time (SecondFactorWindow) has passed.
func (s *Admins) PendingSession(ctx context.Context, raw string) (*AdminSession, *Admin, error) {
	if raw == "" || len(raw) > 128 {
		return nil, nil, ErrAdminSessionEnded
	}
	now := toMillis(s.clock.Now())
	var sess AdminSession
	err := s.db.Read.WithContext(ctx).Where("id_hash = ?", hashSessionID(raw)).Take(&sess).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, ErrAdminSessionEnded
	}
	if err != nil {
		return nil, nil, err
	}
	if sess.RevokedAt != nil || sess.SecondFactorDue == nil || *sess.SecondFactorDue <= now {
		return nil, nil, ErrAdminSessionEnded
	}
	a, err := s.ByID(ctx, sess.AdminID)
	if errors.Is(err, ErrNotFound) || (err == nil && (a.DisabledAt != nil || !a.HasSecondFactor())) {
		return nil, nil, ErrAdminSessionEnded
	}
	if err != nil {
		return nil, nil, err
	}
	return &sess, a, nil
}

// SecondFactor completes a sign-in that waits for its second factor: an
// authenticator code (good once: its step is recorded) or a recovery code
// (good once). Each attempt is counted on the sign-in throttle like a
// password, before the code is checked. On success the session gets a new
// id (returned for the cookie) and grants what any session does.
func (s *Admins) SecondFactor(ctx context.Context, raw, code string, cl ClientInfo, knownBrowser int64) (string, error) {
	sess, a, err := s.PendingSession(ctx, raw)
	if err != nil {
		return "", err
	}
	cl = cl.Clean()
	nowMs := toMillis(s.clock.Now())
	keys := s.throttleKeys(a.Name, cl)
	wait, err := WriteTx(ctx, s.db, func(tx *Tx) (time.Duration, error) {
		return s.takeTurn(tx.DB, a.Name, keys, cl, knownBrowser, nowMs,
			adminEntry(nowMs, a, EventAdminLoginFailed, "", nil, cl, "throttled at the second factor"))
	})
	if err != nil {
		return "", err
	}
	if wait > 0 {
		return "", &ThrottledError{Wait: wait}
	}
	ok, recovery, err := s.useSecondFactor(ctx, a, code)
	if err != nil {
		return "", err
	}
	if !ok {
		err := s.db.WriteTx(ctx, func(tx *Tx) error {
			return audit(tx.DB, adminEntry(nowMs, a, EventAdminLoginFailed, "", nil, cl, "wrong or used second-factor code"))
		})
		if err != nil {
			return "", err
		}
		return "", ErrBadSecondFactor
	}
	fresh := randomToken()
	err = s.db.WriteTx(ctx, func(tx *Tx) error {
		res := tx.Exec("UPDATE admin_sessions SET second_factor_due = NULL, id_hash = ?, last_seen_at = ? WHERE id = ? AND second_factor_due IS NOT NULL AND revoked_at IS NULL",
			hashSessionID(fresh), nowMs, sess.ID)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 { // revoked meanwhile (a password reset, a disable)
			return ErrAdminSessionEnded
		}
		// Both steps' reservations are given back: the password's and the code's.
		for range 2 {
			if err := release(tx.DB, keys); err != nil {
				return err
			}
		}
		how := "an authenticator code"
		if recovery {
			how = "a recovery code"
			var left int64
			if err := tx.Table("admin_recovery_codes").Where("admin_id = ? AND used_at IS NULL", a.ID).Count(&left).Error; err != nil {
				return err
			}
			if err := audit(tx.DB, adminEntry(nowMs, a, EventAdminRecoveryCodeUsed, "", nil, cl, fmt.Sprintf("at sign-in; %d left", left))); err != nil {
				return err
			}
		}
		return audit(tx.DB, adminEntry(nowMs, a, EventAdminLogin, "", nil, cl, fmt.Sprintf("session %d, with %s", sess.ID, how)))
	})
	if err != nil {
		return "", err
	}
	return fresh, nil
}
