package models

import (
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The per-phone guard: consecutive wrong codes across resends, and the lock
// they lead to; blocked users are refused here too.

type phoneGuard struct {
	Phone       string `gorm:"primaryKey"`
	Failures    int
	LockedUntil *int64
	UpdatedAt   int64 `gorm:"autoUpdateTime:false"`
}

func (phoneGuard) TableName() string { return "phone_guards" }

// checkUserAndLock refuses blocked users and locked phones.
func (s *SignIn) checkUserAndLock(tx *gorm.DB, e164 string, now time.Time) (*RefusedError, error) {
	u, err := userByPhone(tx, e164)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if u != nil && u.BlockedAt(now) {
		return &RefusedError{Reason: ReasonBlocked, Message: "This account is blocked. Contact the service's support."}, nil
	}
	g, err := loadGuard(tx, e164, now)
	if err != nil {
		return nil, err
	}
	if g.LockedUntil != nil && *g.LockedUntil > toMillis(now) {
		wait := fromMillis(*g.LockedUntil).Sub(now)
		return &RefusedError{Reason: ReasonLocked, RetryAfter: wait,
			Message: fmt.Sprintf("Too many wrong codes. Sign-in for this number is locked; try again in %s.", humanDuration(wait))}, nil
	}
	return nil, nil
}

func saveGuard(tx *gorm.DB, g *phoneGuard) error {
	return tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(g).Error
}

func loadGuard(tx *gorm.DB, e164 string, now time.Time) (*phoneGuard, error) {
	g := phoneGuard{Phone: e164}
	err := tx.Where("phone = ?", e164).Limit(1).Find(&g).Error
	if g.UpdatedAt == 0 {
		g.UpdatedAt = toMillis(now)
	}
	return &g, err
}
