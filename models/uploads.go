package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Uploads caps how many files a user may upload a day and remembers their
// names: a user can otherwise fill the disk (chat files are referenced by
// nothing Roster knows) or flood their contacts with profile-photo notices.
type Uploads struct {
	db     *DB
	clock  Clock
	perDay int
}

// NewUploads returns the upload ledger; perDay <= 0 means no cap.
func NewUploads(db *DB, clock Clock, perDay int) *Uploads {
	return &Uploads{db: db, clock: clock, perDay: perDay}
}

// Allow refuses a user who reached the daily cap, with the wait until the
// oldest upload of the window leaves it. It only saves the work of storing
// a file that Begin would refuse: Begin is what enforces the cap.
func (u *Uploads) Allow(ctx context.Context, userID int64) error {
	return u.check(u.db.Read.WithContext(ctx), userID)
}

func (u *Uploads) check(tx *gorm.DB, userID int64) error {
	if u.perDay <= 0 {
		return nil
	}
	now := u.clock.Now()
	var times []int64
	err := tx.Raw(`SELECT created_at FROM uploads WHERE user_id = ? AND created_at > ?
		ORDER BY created_at DESC LIMIT ?`, userID, toMillis(now.Add(-24*time.Hour)), u.perDay).Scan(&times).Error
	if err != nil || len(times) < u.perDay {
		return err
	}
	wait := max(fromMillis(times[u.perDay-1]).Add(24*time.Hour).Sub(now), time.Second)
	return &RefusedError{Reason: ReasonRateLimited, RetryAfter: wait,
		Message: fmt.Sprintf("Too many files were uploaded from this account today. Try again in %s.", humanDuration(wait))}
}

// Begin counts an upload against the daily cap before its file is read,
// so that a file that fails to decode (or takes the request's whole
// deadline) still counts: otherwise refused files would cost the server
// their decoding for free. Checking and counting are one write
// transaction: parallel uploads cannot all pass a check made before any of
// them is counted. On PostgreSQL, where transactions run side by side, the
// user's row is locked first, so the uploads of one user are checked and
// counted one at a time (SQLite's single writer does that by itself). Over
// the cap it returns the refusal and counts nothing. The upload has no
// file name until Finish gives it one.
func (u *Uploads) Begin(ctx context.Context, userID int64, profile bool) (int64, error) {
	return WriteTx(ctx, u.db, func(tx *Tx) (int64, error) {
		if err := lockUser(tx.DB, userID); err != nil {
			return 0, err
		}
		if err := u.check(tx.DB, userID); err != nil {
			return 0, err
		}
		var id int64
		err := tx.Raw("INSERT INTO uploads (user_id, name, profile, created_at) VALUES (?, '', ?, ?) RETURNING id",
			userID, profile, toMillis(u.clock.Now())).Scan(&id).Error
		return id, err
	})
}

// Finish names the stored file of an upload Begin counted. The user's row
// is locked first, as a deletion locks it before listing the user's files:
// a user deleted meanwhile is ErrNotFound (the caller removes the file),
// never a file the deletion missed.
func (u *Uploads) Finish(ctx context.Context, userID, id int64, name string) error {
	return u.db.WriteTx(ctx, func(tx *Tx) error {
		if err := lockUser(tx.DB, userID); err != nil {
			return err
		}
		res := tx.Exec("UPDATE uploads SET name = ? WHERE id = ? AND user_id = ?", name, id, userID)
		if res.Error == nil && res.RowsAffected == 0 {
			return ErrNotFound
		}
		return res.Error
	})
}

// uploadNames lists a user's stored files (not the uploads that stored
// none), inside the transaction that
// deletes the user: the rows go with it (cascade), the files after commit.
func uploadNames(tx *gorm.DB, userID int64) ([]string, error) {
	var names []string
	err := tx.Raw("SELECT name FROM uploads WHERE user_id = ? AND name != ''", userID).Scan(&names).Error
	return names, err
}
