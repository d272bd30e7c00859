package models

import (
	"context"
	"errors"

	"gorm.io/gorm"
)

// UserDetail is the user page's own rows; its contact-sync sections come
// from ContactSyncReader.
type UserDetail struct {
	User     User
	Sessions []Session
	Codes    []CodeRow
	Activity []AuditEntry
	// Numbers is the account's changes of number, and the detachments
	// from a number it held or now holds, newest first: kept apart from
	// Activity, whose last 100 entries sign-ins and syncs soon fill.
	Numbers []AuditEntry
}

// UserByID returns one user.
func (d *Dashboard) UserByID(ctx context.Context, id int64) (*User, error) {
	var u User
	err := d.db.Read.WithContext(ctx).Take(&u, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	return &u, err
}

// UserDetail loads a user's page.
func (d *Dashboard) UserDetail(ctx context.Context, id int64) (*UserDetail, error) {
	u, err := d.UserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	det := &UserDetail{User: *u}
	db := d.db.Read.WithContext(ctx)
	if err := db.Where("user_id = ?", id).Order("revoked_at IS NOT NULL, last_used_at DESC").Limit(100).Find(&det.Sessions).Error; err != nil {
		return nil, err
	}
	if det.Codes, err = d.codes(ctx, "phone = ?", []any{u.Phone}, 20); err != nil {
		return nil, err
	}
	if err := db.Where("phone = ? OR user_id = ?", u.Phone, u.ID).Order("at DESC, id DESC").Limit(100).Find(&det.Activity).Error; err != nil {
		return nil, err
	}
	// A recycled number's entry names the account it was taken from: the
	// new holder's page finds it by the number.
	err = db.Where("(user_id = ? AND type IN ?) OR (phone = ? AND type = ?)",
		u.ID, []string{EventPhoneChanged, EventNumberRecycled}, u.Phone, EventNumberRecycled).
		Order("at DESC, id DESC").Limit(100).Find(&det.Numbers).Error
	return det, err
}

// SessionBelongs reports whether a session is one of the user's.
func (d *Dashboard) SessionBelongs(ctx context.Context, userID, sessionID int64) (bool, error) {
	var n int64
	err := d.db.Read.WithContext(ctx).Model(&Session{}).Where("id = ? AND user_id = ?", sessionID, userID).Count(&n).Error
	return n > 0, err
}
