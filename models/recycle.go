package models

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"
)

// RevokeNumberLost is the revoke reason of the sessions of an account
// whose number was recycled.
const RevokeNumberLost = "the account's number was proven by someone else after a long absence"

// EventNumberRecycled is the audit entry of an account detached from its
// number, under that number and the old account's id.
const EventNumberRecycled = "number_recycled"

// lostPhone is the phone column of an account detached from its number:
// unique, and neither a number nor an email address.
func lostPhone(userID int64) string { return "lost:" + strconv.FormatInt(userID, 10) }

// recycleNumber runs after a right code for p (the caller holds p's lock):
// if p belongs to an account not seen for RecycleAfter, that account is
// detached from it (kept, its number moved to lost_phone, its keyed hash
// cleared so no address book finds it, its sessions ended), so that the
// prover gets a fresh account. An account seen within RecycleAfter keeps
// its number: the prover signs in to it, which is what a code proves. It
// returns the sessions it ended, for the caller to announce after commit.
// Off with a token issuer, which knows its users by number. The account
// asking (keep; 0 at a sign-in) is never detached: it is present.
func (s *SignIn) recycleNumber(tx *gorm.DB, p Phone, keep int64, cl ClientInfo, now time.Time) ([]int64, error) {
	if s.cfg.RecycleAfter <= 0 || s.cfg.Issuer != nil {
		return nil, nil
	}
	u, err := lockedUser(tx, lockUserRow, "phone = ?", p.E164)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	// An account awaiting its owner's first sign-in was never used: the
	// prover is the owner it was made for.
	if err != nil || u.ID == keep || u.AwaitingSignIn {
		return nil, err
	}
	nowMs := toMillis(now)
	seen := u.CreatedAt
	if u.LastSeenAt != nil {
		seen = max(seen, *u.LastSeenAt)
	}
	if nowMs-seen < s.cfg.RecycleAfter.Milliseconds() {
		return nil, nil
	}
	ids, err := revokeAllSessions(tx, u.ID, nowMs, RevokeNumberLost)
	if err != nil {
		return nil, err
	}
	if err := tx.Exec("UPDATE users SET phone = ?, lost_phone = phone, number_lost_at = ?, phone_hash = NULL WHERE id = ?",
		lostPhone(u.ID), nowMs, u.ID).Error; err != nil {
		return nil, err
	}
	detail := fmt.Sprintf("account %d, last seen %s, detached from the number; %s ended",
		u.ID, fromMillis(seen).UTC().Format("2006-01-02"), plural(len(ids), "session", "sessions"))
	return ids, audit(tx, apiEntry(nowMs, EventNumberRecycled, p.E164, &u.ID, cl, detail))
}
