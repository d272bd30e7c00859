package models

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// Deletion with a grace period (--deletion-grace): `deleteaccount` marks
// the account pending instead of deleting it. Until its date the account is
// signed out (every session ended, push tokens with them) and found by no
// address book (its keyed hash is cleared, as a recycled number's old
// account's), but it keeps its profile, book and groups, so that signing in
// again with a code, or an administrator, can cancel the deletion and
// restore it whole. The chore DeletePending then deletes it through
// deleteUserTx, as every deletion.

// RevokeDeletionPending is the revoke reason of the sessions of an account
// whose user asked to delete it, during the grace period.
const RevokeDeletionPending = "account deletion asked by its user"

const (
	// EventAccountDeletionPending is the audit entry of a deletion asked
	// with a grace period: the account is pending until the date it names.
	EventAccountDeletionPending = "account_deletion_pending"
	// EventAccountDeletionCancelled is the audit entry of a pending
	// deletion cancelled, by a sign-in or by an administrator.
	EventAccountDeletionCancelled = "account_deletion_cancelled"
)

// ErrNotPending answers a cancellation of an account that has no pending
// deletion.
var ErrNotPending = errors.New("the account has no pending deletion")

// pendingBatch bounds how many pending deletions one chore round reads at
// a time; each is deleted in a transaction of its own.
const pendingBatch = 100

// markPendingDeletion ends the caller's sessions, hides the account from
// address books and sets its deletion date. The caller's session was
// checked live in tx; the user's row is locked before its sessions'.
func (a *Accounts) markPendingDeletion(tx *Tx, p *Principal, cl ClientInfo, now int64) (int64, error) {
	u, err := lockedUserByID(tx.DB, p.User.ID, lockUserRow)
	if errors.Is(err, ErrNotFound) || (err == nil && u.DeleteAfter != nil) {
		// Deleted meanwhile, or pending already: another device's
		// deleteaccount committed first and ended this session.
		return 0, ErrUnauthenticated
	}
	if err != nil {
		return 0, err
	}
	ids, err := revokeAllSessions(tx.DB, u.ID, now, RevokeDeletionPending)
	if err != nil {
		return 0, err
	}
	tx.OnCommit(func() { a.sessions.NotifyRevoked(ids...) })
	at := now + a.grace.Milliseconds()
	if err := tx.Exec("UPDATE users SET delete_after = ?, phone_hash = NULL WHERE id = ?", at, u.ID).Error; err != nil {
		return 0, err
	}
	detail := fmt.Sprintf("deletion on %s; %s revoked", fromMillis(at).UTC().Format("2006-01-02 15:04 UTC"),
		plural(len(ids), "session", "sessions"))
	return at, audit(tx.DB, apiEntry(now, EventAccountDeletionPending, u.Phone, &u.ID, cl, detail))
}

// cancelPendingDeletion restores an account whose deletion is pending: its
// keyed hash back (address books find it again, unless it lost its number)
// and its profile's change time moved, so that incremental syncs list it
// again. u's row is locked by the caller. It reports whether there was a
// deletion to cancel; the audit entry names the actor (the user signing in,
// or an administrator).
func cancelPendingDeletion(tx *gorm.DB, clock Clock, hasher *PhoneHasher, u *User, entry func(now int64) AuditEntry, now int64) (bool, error) {
	if u.DeleteAfter == nil {
		return false, nil
	}
	var hash []byte
	if hasher != nil && !u.NumberLost() {
		hash = hasher.Hash(u.Phone)
	}
	changed, err := changeTime(tx, clock, now)
	if err != nil {
		return false, err
	}
	if err := tx.Exec("UPDATE users SET delete_after = NULL, phone_hash = ?, profile_at = ? WHERE id = ?", hash, changed, u.ID).Error; err != nil {
		return false, err
	}
	u.DeleteAfter, u.PhoneHash, u.ProfileAt = nil, hash, changed
	return true, audit(tx, entry(now))
}

// cancelledDetail is the audit detail of a cancelled deletion.
func cancelledDetail(u *User, by string) string {
	return fmt.Sprintf("deletion that was due on %s cancelled %s", fromMillis(*u.DeleteAfter).UTC().Format("2006-01-02 15:04 UTC"), by)
}

// cancelDeletionAtSignIn cancels the pending deletion of u, the user a
// right code signs in (its row locked by checkBlocked): proving the number
// again within the grace period is changing one's mind.
func (s *SignIn) cancelDeletionAtSignIn(tx *gorm.DB, u *User, cl ClientInfo, now int64) (bool, error) {
	if u.DeleteAfter == nil {
		return false, nil
	}
	detail := cancelledDetail(u, "by signing in again")
	return cancelPendingDeletion(tx, s.clock, s.cfg.Hasher, u, func(now int64) AuditEntry {
		return apiEntry(now, EventAccountDeletionCancelled, u.Phone, &u.ID, cl, detail)
	}, now)
}

// CancelDeletion cancels a user's pending deletion for an administrator
// (ErrNotPending: none is pending; ErrNotFound: no such user).
func (a *Accounts) CancelDeletion(ctx context.Context, userID int64, admin *Admin, cl ClientInfo) error {
	now := toMillis(a.clock.Now())
	return a.db.WriteTx(ctx, func(tx *Tx) error {
		u, err := lockedUserByID(tx.DB, userID, lockUserRow)
		if err != nil {
			return err
		}
		if u.DeleteAfter == nil {
			return ErrNotPending
		}
		detail := cancelledDetail(u, "by an administrator")
		_, err = cancelPendingDeletion(tx.DB, a.clock, a.hasher, u, func(now int64) AuditEntry {
			return adminEntry(now, admin, EventAccountDeletionCancelled, u.Phone, &u.ID, cl, detail)
		}, now)
		return err
	})
}

// DeletePending deletes the accounts whose grace period is over, each in a
// transaction of its own through deleteUserTx, and removes their files. It
// is safe to run on several instances at once: each deletion locks the
// user's row and checks again that it is still due (a sign-in may have
// cancelled it meanwhile), and a user another instance deleted first is
// passed over. It returns how many it deleted.
func (a *Accounts) DeletePending(ctx context.Context) (int, error) {
	deleted := 0
	for {
		now := toMillis(a.clock.Now())
		var due []int64
		err := a.db.Read.WithContext(ctx).Raw("SELECT id FROM users WHERE delete_after IS NOT NULL AND delete_after <= ? ORDER BY delete_after LIMIT ?",
			now, pendingBatch).Scan(&due).Error
		if err != nil {
			return deleted, err
		}
		for _, id := range due {
			ok, err := a.deleteIfDue(ctx, id, now)
			if err != nil {
				return deleted, err
			}
			if ok {
				deleted++
			}
		}
		if len(due) < pendingBatch {
			return deleted, nil
		}
	}
}

// deleteIfDue deletes the user if their deletion is still due at now.
func (a *Accounts) deleteIfDue(ctx context.Context, userID, now int64) (bool, error) {
	del, err := WriteTx(ctx, a.db, func(tx *Tx) (deletedUser, error) {
		u, err := lockedUserByID(tx.DB, userID, lockUserDelete)
		if errors.Is(err, ErrNotFound) || (err == nil && (u.DeleteAfter == nil || *u.DeleteAfter > now)) {
			return deletedUser{}, nil // deleted or cancelled meanwhile
		}
		if err != nil {
			return deletedUser{}, err
		}
		due := fromMillis(*u.DeleteAfter).UTC().Format("2006-01-02 15:04 UTC")
		del, err := deleteUserTx(tx, a.sessions, a.events, a.clock, userID, now, RevokeAccountDeleted)
		if err != nil {
			return deletedUser{}, err
		}
		detail := fmt.Sprintf("deleted at the end of its grace period (due %s); %s revoked; profile, photo and address book removed",
			due, plural(del.revoked, "session", "sessions"))
		return del, audit(tx.DB, auditEntry(now, ActorSystem, EventAccountDeleted, u.Phone, &u.ID, ClientInfo{}, detail))
	})
	if err != nil || del.user == nil {
		return false, err
	}
	return true, removeUserFiles(ctx, a.files, del.files)
}
