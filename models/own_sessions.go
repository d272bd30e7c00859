package models

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// RevokeByUser is the revoke reason of a session its user ended from
// another of their devices (the `endsession` op).
const RevokeByUser = "ended by the user from another device"

// EventSessionEnded is the audit entry of sessions a user ended themselves
// (`endsession`): one entry per op, naming the sessions.
const EventSessionEnded = "session_ended"

// maxOwnSessions bounds the `sessions` list: the most recently used first.
// Sign-ins without a device name are not replaced by the next one, so a
// user may hold many live sessions.
const maxOwnSessions = 100

// OwnSession is one of a user's live sessions as the user sees it: never its
// token, its push token or the address it signed in from (its country, if
// known, is shown).
type OwnSession struct {
	ID         int64
	Device     string
	DeviceType string
	AppID      string
	CreatedAt  int64 // unix milliseconds
	LastUsedAt int64 // unix milliseconds
	ExpiresAt  int64 // unix milliseconds
	Current    bool  // the session of the token that asked
	Country    string
}

// ListOwn returns the caller's live sessions (not revoked, not expired),
// the most recently used first, at most maxOwnSessions.
func (s *Sessions) ListOwn(ctx context.Context, p *Principal) ([]OwnSession, error) {
	var rows []Session
	err := s.db.Read.WithContext(ctx).
		Select("id", "device", "device_type", "app_id", "created_at", "last_used_at", "expires_at", "country").
		Where("user_id = ? AND revoked_at IS NULL AND expires_at > ?", p.User.ID, toMillis(s.clock.Now())).
		Order("last_used_at DESC, id DESC").Limit(maxOwnSessions).Find(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]OwnSession, len(rows))
	for i, r := range rows {
		out[i] = OwnSession{ID: r.ID, Device: r.Device, DeviceType: r.DeviceType, AppID: r.AppID,
			CreatedAt: r.CreatedAt, LastUsedAt: r.LastUsedAt, ExpiresAt: r.ExpiresAt, Current: r.ID == p.SessionID, Country: r.Country}
	}
	return out, nil
}

// EndOwn ends one of the caller's sessions by id (the caller's own current
// one too: that is a logout). It reports whether a live session was ended;
// ErrNotFound if no session of the caller has that id. An ended or expired
// session of the caller is not an error: two devices ending the same one
// both succeed, and only one ends it and audits.
func (s *Sessions) EndOwn(ctx context.Context, p *Principal, sessionID int64, cl ClientInfo) (bool, error) {
	now := toMillis(s.clock.Now())
	return WriteTx(ctx, s.db, func(tx *Tx) (bool, error) {
		var sess Session
		err := tx.Where("id = ? AND user_id = ?", sessionID, p.User.ID).Take(&sess).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return false, ErrNotFound
		}
		if err != nil || sess.RevokedAt != nil {
			return false, err
		}
		if ok, err := revokeSession(tx.DB, &sess, now, RevokeByUser); err != nil || !ok {
			return false, err // !ok: revoked meanwhile
		}
		tx.OnCommit(func() { s.NotifyRevoked(sess.ID) })
		return true, audit(tx.DB, apiEntry(now, EventSessionEnded, p.User.Phone, &p.User.ID, cl,
			fmt.Sprintf("session %d, device %q, ended from session %d", sess.ID, truncate(sess.Device, 64), p.SessionID)))
	})
}

// EndOthers ends every live session of the caller but the one asking, and
// returns how many it ended.
func (s *Sessions) EndOthers(ctx context.Context, p *Principal, cl ClientInfo) (int, error) {
	now := toMillis(s.clock.Now())
	return WriteTx(ctx, s.db, func(tx *Tx) (int, error) {
		// The user's row first, as revokeAllSessions requires: a sign-in
		// committing now is waited for, and its session ended too.
		if err := lockUser(tx.DB, p.User.ID); err != nil {
			return 0, err
		}
		ids, err := revokeOtherSessions(tx.DB, p.User.ID, p.SessionID, now, RevokeByUser)
		if err != nil || len(ids) == 0 {
			return 0, err
		}
		tx.OnCommit(func() { s.NotifyRevoked(ids...) })
		return len(ids), audit(tx.DB, apiEntry(now, EventSessionEnded, p.User.Phone, &p.User.ID, cl,
			fmt.Sprintf("%s ended from session %d", plural(len(ids), "other session", "other sessions"), p.SessionID)))
	})
}

// revokeOtherSessions revokes, through revokeSession, every live session
// of the user but keep, and returns those it revoked. The caller has
// locked the user's row, as for revokeAllSessions.
func revokeOtherSessions(tx *gorm.DB, userID, keep, now int64, reason string) ([]int64, error) {
	var live []Session
	if err := tx.Where("user_id = ? AND revoked_at IS NULL AND id <> ?", userID, keep).Find(&live).Error; err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(live))
	for i := range live {
		ok, err := revokeSession(tx, &live[i], now, reason)
		if err != nil {
			return nil, err
		}
		if ok {
			ids = append(ids, live[i].ID)
		}
	}
	return ids, nil
}
