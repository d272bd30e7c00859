package models

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// Revoke reasons of admin actions.
const (
	RevokeByAdmin = "revoked by an administrator"
	RevokeBlocked = "user blocked"
	RevokeDeleted = "user deleted"
)

// RevokeSession revokes one session by id, for an admin (actor
// "admin:<name>"). It reports whether a live session was revoked.
func (s *Sessions) RevokeSession(ctx context.Context, sessionID int64, actor string, cl ClientInfo) (bool, error) {
	now := toMillis(s.clock.Now())
	return WriteTx(ctx, s.db, func(tx *Tx) (bool, error) {
		var sess Session
		err := tx.Where("id = ? AND revoked_at IS NULL", sessionID).Take(&sess).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if ok, err := revokeSession(tx.DB, &sess, now, RevokeByAdmin); err != nil || !ok {
			return false, err // !ok: revoked meanwhile, by a logout or another admin
		}
		var phone string
		if err := tx.Model(&User{}).Where("id = ?", sess.UserID).Pluck("phone", &phone).Error; err != nil {
			return false, err
		}
		tx.OnCommit(func() { s.NotifyRevoked(sess.ID) })
		return true, audit(tx.DB, auditEntry(now, actor, EventAdminRevokeToken, phone, &sess.UserID, cl,
			fmt.Sprintf("session %d, device %q", sess.ID, truncate(sess.Device, 64))))
	})
}

// RevokeAllForUser revokes every live session of a user and returns how many.
func (s *Sessions) RevokeAllForUser(ctx context.Context, userID int64, actor string, cl ClientInfo) (int, error) {
	now := toMillis(s.clock.Now())
	return WriteTx(ctx, s.db, func(tx *Tx) (int, error) {
		// The user's row first, as blocks, deletions and sign-ins lock it:
		// a sign-in committing now is waited for and its session revoked.
		if err := lockUser(tx.DB, userID); err != nil {
			return 0, err
		}
		var phone string
		if err := tx.Model(&User{}).Where("id = ?", userID).Pluck("phone", &phone).Error; err != nil {
			return 0, err
		}
		if phone == "" {
			return 0, ErrNotFound
		}
		ids, err := revokeAllSessions(tx.DB, userID, now, RevokeByAdmin)
		if err != nil {
			return 0, err
		}
		tx.OnCommit(func() { s.NotifyRevoked(ids...) })
		return len(ids), audit(tx.DB, auditEntry(now, actor, EventAdminRevokeAll, phone, &userID, cl,
			plural(len(ids), "session", "sessions")+" revoked"))
	})
}

// revokeAllSessions revokes a user's live sessions one by one through
// revokeSession, so that every hook on a revocation runs for each, and
// returns those it revoked (not those a logout revoked meanwhile). The
// caller has locked the user's row (lockUser): no session of the user is
// being made meanwhile, and every transaction that locks several of the
// user's sessions holds that lock first, so their order cannot deadlock.
func revokeAllSessions(tx *gorm.DB, userID, now int64, reason string) ([]int64, error) {
	return revokeOtherSessions(tx, userID, 0, now, reason) // no session has id 0
}
