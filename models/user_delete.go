package models

import (
	"context"
	"fmt"
)

// deletedUser is what deleting a user leaves for after the commit: the
// user as it was (for the audit entry and the reply) and the files to
// remove from the store.
type deletedUser struct {
	user    *User
	revoked int      // sessions revoked by the deletion
	files   []string // the photo and the uploads (chat files, earlier photos)
}

// deleteUserTx is where a user is deleted, whoever asks (an administrator,
// or the user themselves): their number leaves the member lists of their
// groups' kept notices and their pending pushes go (user_delete_traces.go);
// their sessions are revoked through
// revokeSession, so every revocation hook runs and their live streams
// close after commit; they leave their groups (leaveGroupsOfDeletedUser:
// an owned group passes on, an emptied one goes, its photo with the user's
// files); their deletion at mesibo is queued; the user's row
// goes, and with it every row that references it (ON DELETE CASCADE:
// sessions and their push tokens, the address book and what is kept about
// it, uploads' rows, notices). The caller audits it in tx and removes the
// files after commit (removeUserFiles).
func deleteUserTx(tx *Tx, sessions *Sessions, events *Events, clock Clock, userID, now int64, reason string) (deletedUser, error) {
	// Locked before anything is read: a sign-in, upload or profile
	// change of this user either commits first (its session is revoked
	// and its file listed below) or waits and then finds no user.
	u, err := lockedUserByID(tx.DB, userID, lockUserDelete)
	if err != nil {
		return deletedUser{}, err
	}
	if u.Phone != "" {
		rewritten, err := forgetInGroupNotices(tx.DB, userID, u.Phone)
		if err != nil {
			return deletedUser{}, err
		}
		if events != nil && len(rewritten) > 0 {
			tx.OnCommit(func() { events.recent.replace(rewritten) })
		}
		if err := dropPendingDeliveries(tx.DB, u.Phone); err != nil {
			return deletedUser{}, err
		}
	}
	groupPhotos, err := leaveGroupsOfDeletedUser(tx, clock, events, userID)
	if err != nil {
		return deletedUser{}, err
	}
	ids, err := revokeAllSessions(tx.DB, userID, now, reason)
	if err != nil {
		return deletedUser{}, err
	}
	tx.OnCommit(func() { sessions.NotifyRevoked(ids...) })
	files, err := uploadNames(tx.DB, userID)
	if err != nil {
		return deletedUser{}, err
	}
	if u.Photo != "" {
		files = append(files, u.Photo)
	}
	files = append(files, groupPhotos...)
	if err := queueMesiboUserDelete(tx.DB, u, now); err != nil {
		return deletedUser{}, err
	}
	if err := tx.Exec("DELETE FROM users WHERE id = ?", userID).Error; err != nil {
		return deletedUser{}, err
	}
	return deletedUser{user: u, revoked: len(ids), files: files}, nil
}

// removeUserFiles deletes a deleted user's files, to the end even if the
// request ends meanwhile (the rows naming them are gone: a file left now
// would stay for good). Removed after the commit rather than in a hook: a
// file that cannot be removed is the caller's to report.
func removeUserFiles(ctx context.Context, store FileStore, names []string) error {
	ctx, cancel := cleanupContext(ctx)
	defer cancel()
	for _, name := range names {
		// The store refuses names with a path: a stored name cannot reach
		// outside it.
		if err := store.Delete(ctx, name); err != nil {
			return fmt.Errorf("user deleted, but removing the file %s failed: %w", name, err)
		}
	}
	return nil
}
