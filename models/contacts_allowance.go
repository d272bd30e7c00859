package models

import (
	"fmt"
	"math"
	"time"

	"gorm.io/gorm"
)

// The allowance of never-seen numbers: a token bucket per user, kept in the
// database and spent in the sync's own transaction.

// spendAllowance takes n never-seen numbers from the user's bucket, or says
// how long to wait for enough of them.
func (c *Contacts) spendAllowance(tx *gorm.DB, userID int64, n int, now time.Time) (*RefusedError, error) {
	if n == 0 {
		return nil, nil
	}
	var row struct {
		Tokens    float64
		UpdatedAt int64
	}
	err := tx.Raw("SELECT tokens, updated_at FROM contact_allowance WHERE user_id = ?", userID).Scan(&row).Error
	if err != nil {
		return nil, err
	}
	capacity := float64(c.cfg.Allowance)
	perMs := c.cfg.RefillPerDay / float64(24*time.Hour/time.Millisecond)
	tokens := capacity
	if row.UpdatedAt != 0 {
		tokens = math.Min(capacity, row.Tokens+float64(toMillis(now)-row.UpdatedAt)*perMs)
	}
	if float64(n) > tokens {
		wait := time.Duration(math.MaxInt64)
		if perMs > 0 {
			need := math.Min(float64(n), capacity) - tokens
			wait = time.Duration(math.Ceil(need/perMs)) * time.Millisecond
		}
		return &RefusedError{Reason: ReasonRateLimited, RetryAfter: max(wait, time.Second),
			Message: fmt.Sprintf("Too many new numbers were looked up from this account. Try again in %s.", humanDuration(wait))}, nil
	}
	return nil, tx.Exec(`INSERT INTO contact_allowance (user_id, tokens, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at`,
		userID, tokens-float64(n), toMillis(now)).Error
}
