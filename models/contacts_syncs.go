package models

import (
	"context"
	"math"
	"time"

	"gorm.io/gorm"
)

// Sync records (each upload, incremental sync and deletion, for the
// dashboard's history) and the state of a user's address book.

// ContactSync is the record of one sync, for the dashboard.
type ContactSync struct {
	ID         int64
	UserID     int64
	At         int64
	Kind       string // upload, incremental, delete
	Reset      bool
	Received   int
	Valid      int
	NewNumbers int
	Matched    int
	DurationUs int64
	Refused    string
}

func (c *Contacts) insertRecord(tx *gorm.DB, rec *ContactSync, start time.Time) error {
	rec.DurationUs = time.Since(start).Microseconds()
	return tx.Create(rec).Error
}

// record writes a sync record outside any other transaction. Losing one is
// not worth failing the request for, so errors are ignored.
func (c *Contacts) record(ctx context.Context, rec *ContactSync, start time.Time) {
	_ = c.db.Write.WithContext(ctx).Transaction(func(tx *gorm.DB) error { return c.insertRecord(tx, rec, start) })
}

// SyncState summarizes a user's address book for the dashboard.
type SyncState struct {
	BookSize     int64        // numbers in the user's address book
	MatchedUsers int64        // of which are users (whatever their privacy settings)
	Followers    int64        // users who have this user's number
	Allowance    float64      // never-seen numbers the user may still upload now
	LastSync     *ContactSync // nil when the user never synced
}

// SyncState returns the contact-sync state of a user.
func (c *Contacts) SyncState(ctx context.Context, userID int64) (*SyncState, error) {
	db := c.db.Read.WithContext(ctx)
	st := &SyncState{Allowance: float64(c.cfg.Allowance)}
	if err := db.Raw("SELECT COUNT(*) FROM address_book WHERE owner_id = ?", userID).Scan(&st.BookSize).Error; err != nil {
		return nil, err
	}
	if err := db.Raw(`SELECT COUNT(*) FROM address_book b JOIN users u ON u.phone_hash = b.contact_hash
		WHERE b.owner_id = ?`, userID).Scan(&st.MatchedUsers).Error; err != nil {
		return nil, err
	}
	if err := db.Raw(`SELECT COUNT(*) FROM address_book b JOIN users u ON b.contact_hash = u.phone_hash
		WHERE u.id = ?`, userID).Scan(&st.Followers).Error; err != nil {
		return nil, err
	}
	var row struct {
		Tokens    float64
		UpdatedAt int64
	}
	if err := db.Raw("SELECT tokens, updated_at FROM contact_allowance WHERE user_id = ?", userID).Scan(&row).Error; err != nil {
		return nil, err
	}
	if row.UpdatedAt != 0 {
		perMs := c.cfg.RefillPerDay / float64(24*time.Hour/time.Millisecond)
		st.Allowance = math.Min(float64(c.cfg.Allowance), row.Tokens+float64(toMillis(c.clock.Now())-row.UpdatedAt)*perMs)
	}
	syncs, err := c.RecentSyncs(ctx, userID, 1)
	if err != nil {
		return nil, err
	}
	if len(syncs) > 0 {
		st.LastSync = &syncs[0]
	}
	return st, nil
}

// RecentSyncs returns the newest sync records of a user (of everyone when
// userID is 0), newest first.
func (c *Contacts) RecentSyncs(ctx context.Context, userID int64, limit int) ([]ContactSync, error) {
	var out []ContactSync
	q := c.db.Read.WithContext(ctx).Order("id DESC").Limit(limit)
	if userID != 0 {
		q = q.Where("user_id = ?", userID)
	}
	return out, q.Find(&out).Error
}
