package models

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// EventAdminUnlock is an administrator unlocking a number: its wrong-code
// counts and locks cleared on every network, and its per-number code quotas
// started afresh.
const EventAdminUnlock = "admin_unlock_phone"

// Unlocked is what an unlock cleared.
type Unlocked struct {
	Locked   int // networks the number was locked on
	Counting int // networks with wrong codes counted, locked or not
}

// phoneQuotaReset is when the per-number quotas of a phone were last
// cleared: codes requested before then do not count on them.
type phoneQuotaReset struct {
	Phone   string `gorm:"primaryKey"`
	ResetAt int64
}

func (phoneQuotaReset) TableName() string { return "phone_quota_resets" }

// quotaResetAt is when the number's quotas were last cleared (0: never).
func quotaResetAt(tx *gorm.DB, e164 string) (int64, error) {
	var at []int64
	err := tx.Model(&phoneQuotaReset{}).Where("phone = ?", e164).Pluck("reset_at", &at).Error
	if err != nil || len(at) == 0 {
		return 0, err
	}
	return at[0], nil
}

// UnlockPhone clears a number's wrong-code counts and locks on every
// network and restarts its per-number code quotas (the hourly and daily
// codes), as one audited change by actor. It takes the number's lock, as
// a code request and a code check do, so none of them runs half before it.
func (d *UserActions) UnlockPhone(ctx context.Context, e164, actor string, cl ClientInfo) (Unlocked, error) {
	now := toMillis(d.clock.Now())
	return WriteTx(ctx, d.db, func(tx *Tx) (Unlocked, error) {
		var u Unlocked
		if err := lockKey(tx.DB, lockPhone, e164); err != nil {
			return u, err
		}
		// Guard keys: the number and a network (guardKey), or the number
		// alone (a test number). ' ' < '!' bounds the keys of the number.
		var guards []phoneGuard
		if err := tx.Where("phone = ? OR (phone > ? AND phone < ?)", e164, e164+" ", e164+"!").Find(&guards).Error; err != nil {
			return u, err
		}
		for _, g := range guards {
			if g.LockedUntil != nil && *g.LockedUntil > now {
				u.Locked++
			}
			if g.Failures > 0 || (g.LockedUntil != nil && *g.LockedUntil > now) {
				u.Counting++
			}
		}
		if err := tx.Model(&phoneGuard{}).Where("phone = ? OR (phone > ? AND phone < ?)", e164, e164+" ", e164+"!").
			Updates(map[string]any{"failures": 0, "locked_until": nil, "updated_at": now}).Error; err != nil {
			return u, err
		}
		if err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "phone"}}, DoUpdates: clause.AssignmentColumns([]string{"reset_at"})}).
			Create(&phoneQuotaReset{Phone: e164, ResetAt: now}).Error; err != nil {
			return u, err
		}
		var uid *int64
		switch user, err := userByPhone(tx.DB, e164); {
		case err == nil:
			uid = &user.ID
		case !errors.Is(err, ErrNotFound):
			return u, err
		}
		detail := fmt.Sprintf("cleared the wrong codes of %d networks (%d locked) and the number's code quotas", u.Counting, u.Locked)
		return u, audit(tx.DB, auditEntry(now, actor, EventAdminUnlock, e164, uid, cl, detail))
	})
}
