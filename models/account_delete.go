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
// does (deleteUserTx), then removes its files. The token that asks must
// still be live when the deletion runs: a session ended meanwhile (from
// another device) deletes nothing, ErrUnauthenticated.
func (a *Accounts) DeleteOwn(ctx context.Context, p *Principal, cl ClientInfo) error {
	now := toMillis(a.clock.Now())
	del, err := WriteTx(ctx, a.db, func(tx *Tx) (deletedUser, error) {
		var live Session
		err := tx.Select("id").Where("id = ? AND user_id = ? AND revoked_at IS NULL", p.SessionID, p.User.ID).Take(&live).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return deletedUser{}, ErrUnauthenticated
		}
		if err != nil {
			return deletedUser{}, err
		}
		del, err := deleteUserTx(tx, a.sessions, a.events, a.clock, p.User.ID, now, RevokeAccountDeleted)
		if errors.Is(err, ErrNotFound) {
			return deletedUser{}, ErrUnauthenticated // deleted meanwhile
		}
		if err != nil {
			return deletedUser{}, err
		}
		return del, audit(tx.DB, apiEntry(now, EventAccountDeleted, del.user.Phone, &del.user.ID, cl,
			plural(del.revoked, "session", "sessions")+" revoked; profile, photo and address book removed"))
	})
	if err != nil {
		return err
	}
	return removeUserFiles(ctx, a.files, del.files)
}
