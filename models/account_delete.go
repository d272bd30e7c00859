package models

import (
	"context"
	"errors"

	"gorm.io/gorm"
)

// RevokeAccountDeleted is the revoke reason of the sessions of an account
// its user deleted.
const RevokeAccountDeleted = "account deleted by its user"

// EventAccountDeleted is the audit entry of an account deleted by its user
// (`deleteaccount`); an administrator's deletion is EventAdminDeleteUser.
const EventAccountDeleted = "account_deleted"

// DeleteOwn deletes the caller's account as an administrator's deletion
// does (deleteUserTx), then removes its files. With a grace period it
// marks the account pending instead (markPendingDeletion) and returns the
// deletion's date (unix milliseconds; 0: deleted now). The token that asks
// must still be live when the deletion runs: a session ended meanwhile
// (from another device) deletes nothing, ErrUnauthenticated.
func (a *Accounts) DeleteOwn(ctx context.Context, p *Principal, cl ClientInfo) (int64, error) {
	now := toMillis(a.clock.Now())
	type outcome struct {
		del      deletedUser
		deleteAt int64
	}
	out, err := WriteTx(ctx, a.db, func(tx *Tx) (outcome, error) {
		var live Session
		err := tx.Select("id").Where("id = ? AND user_id = ? AND revoked_at IS NULL", p.SessionID, p.User.ID).Take(&live).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return outcome{}, ErrUnauthenticated
		}
		if err != nil {
			return outcome{}, err
		}
		if a.grace > 0 {
			at, err := a.markPendingDeletion(tx, p, cl, now)
			return outcome{deleteAt: at}, err
		}
		del, err := deleteUserTx(tx, a.sessions, a.events, a.clock, p.User.ID, now, RevokeAccountDeleted)
		if errors.Is(err, ErrNotFound) {
			return outcome{}, ErrUnauthenticated // deleted meanwhile
		}
		if err != nil {
			return outcome{}, err
		}
		return outcome{del: del}, audit(tx.DB, apiEntry(now, EventAccountDeleted, del.user.Phone, &del.user.ID, cl,
			plural(del.revoked, "session", "sessions")+" revoked; profile, photo and address book removed"))
	})
	if err != nil || out.deleteAt > 0 {
		return out.deleteAt, err
	}
	return 0, removeUserFiles(ctx, a.files, out.del.files)
}
