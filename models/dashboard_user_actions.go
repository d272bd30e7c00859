package models

import (
	"context"
	"errors"
	"strconv"
)

// UserActions are the administrators' changes to users: block, unblock,
// delete, and the audit entry of an action that has no transaction of its
// own. Each runs in one write transaction and is audited in it.
type UserActions struct {
	db       *DB
	clock    Clock
	sessions *Sessions // revocations are announced through it
	// files holds profile photos and uploads; a deleted user's files go too.
	files    FileStore
	profiles *Profiles // moderation changes a profile as the user would
}

// NewUserActions returns the dashboard's user actions.
func NewUserActions(db *DB, clock Clock, sessions *Sessions, files FileStore, profiles *Profiles) *UserActions {
	return &UserActions{db: db, clock: clock, sessions: sessions, files: files, profiles: profiles}
}

// BlockDetail is the audit log's detail of a block: when it ends and how
// many sessions it revoked. The seed's history words its blocks with it.
func BlockDetail(until int64, revoked int) string {
	detail := "blocked until unblocked"
	if until != BlockedForever {
		detail = "blocked until " + blockEnd(until)
	}
	return detail + "; " + plural(revoked, "session", "sessions") + " revoked"
}

// blockEnd words when a block ends in the audit log's details (the pages
// word it with views.BlockEnd): a block "until 2027-01-15" is stored as the
// next midnight (UTC), the end of that day, and recorded as "the end of
// 2027-01-15 (UTC)", not as the 16th.
func blockEnd(until int64) string {
	t := fromMillis(until).UTC()
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return "the end of " + t.AddDate(0, 0, -1).Format("2006-01-02") + " (UTC)"
	}
	return t.Format("2006-01-02 15:04:05 UTC")
}

// plural is "1 session", "2 sessions" in audit details (the pages count
// with views.Plural).
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// BlockUser blocks a user until a time (BlockedForever: until unblocked)
// and revokes all their sessions in the same transaction.
func (d *UserActions) BlockUser(ctx context.Context, userID, until int64, actor string, cl ClientInfo) (int, error) {
	now := toMillis(d.clock.Now())
	if until <= now {
		return 0, errors.New("the block must end in the future")
	}
	return WriteTx(ctx, d.db, func(tx *Tx) (int, error) {
		// Locked: a sign-in of this user waits for the block (and is
		// then refused), or commits first and its session is revoked here.
		u, err := lockedUserByID(tx.DB, userID, lockUserRow)
		if err != nil {
			return 0, err
		}
		if err := tx.Model(&User{}).Where("id = ?", userID).Update("blocked_until", until).Error; err != nil {
			return 0, err
		}
		ids, err := revokeAllSessions(tx.DB, userID, now, RevokeBlocked)
		if err != nil {
			return 0, err
		}
		tx.OnCommit(func() { d.sessions.NotifyRevoked(ids...) })
		return len(ids), audit(tx.DB, auditEntry(now, actor, EventAdminBlock, u.Phone, &u.ID, cl, BlockDetail(until, len(ids))))
	})
}

// UnblockUser lifts a block.
func (d *UserActions) UnblockUser(ctx context.Context, userID int64, actor string, cl ClientInfo) error {
	now := toMillis(d.clock.Now())
	return d.db.WriteTx(ctx, func(tx *Tx) error {
		u, err := lockedUserByID(tx.DB, userID, lockUserRow) // after a block that is committing, not before it
		if err != nil {
			return err
		}
		if err := tx.Model(&User{}).Where("id = ?", userID).Update("blocked_until", nil).Error; err != nil {
			return err
		}
		return audit(tx.DB, auditEntry(now, actor, EventAdminUnblock, u.Phone, &u.ID, cl, ""))
	})
}

// DeleteUser deletes a user as deleteUserTx does, for an administrator,
// then removes the user's files.
func (d *UserActions) DeleteUser(ctx context.Context, userID int64, actor string, cl ClientInfo) (*User, error) {
	now := toMillis(d.clock.Now())
	del, err := WriteTx(ctx, d.db, func(tx *Tx) (deletedUser, error) {
		del, err := deleteUserTx(tx, d.sessions, d.profiles.events, d.clock, userID, now, RevokeDeleted)
		if err != nil {
			return deletedUser{}, err
		}
		return del, audit(tx.DB, auditEntry(now, actor, EventAdminDeleteUser, del.user.Phone, &del.user.ID, cl,
			plural(del.revoked, "session", "sessions")+" revoked; profile, photo and address book removed"))
	})
	if err != nil {
		return nil, err
	}
	return del.user, removeUserFiles(ctx, d.files, del.files)
}

// AuditAdmin records an admin action that has no transaction of its own.
func (d *UserActions) AuditAdmin(ctx context.Context, a *Admin, typ, phone string, cl ClientInfo, detail string) error {
	now := toMillis(d.clock.Now())
	return d.db.WriteTx(ctx, func(tx *Tx) error {
		var uid *int64
		if u, err := userByPhone(tx.DB, phone); err == nil {
			uid = &u.ID
		}
		return audit(tx.DB, adminEntry(now, a, typ, phone, uid, cl, detail))
	})
}
