package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"gorm.io/gorm"
)

// The allowance of never-seen numbers and the budget of address-book
// writes: token buckets per user, kept in the database and spent in the
// sync's own transaction.

// spendAllowance takes n never-seen numbers from the user's bucket, or says
// how long to wait for enough of them.
func (c *Contacts) spendAllowance(tx *gorm.DB, userID int64, n int, now time.Time) (*RefusedError, error) {
	return spendBucket(tx, "contact_allowance", userID, n, float64(c.cfg.Allowance), c.cfg.RefillPerDay, now,
		"Too many new numbers were looked up from this account. Try again in %s.")
}

// spendBookWrites takes n address-book rows (written or deleted) from the
// user's budget of writes, or says how long to wait for enough of them:
// a client that keeps resetting and resending a changed book would
// otherwise hold the database's writer for others all day long.
func (c *Contacts) spendBookWrites(tx *gorm.DB, userID int64, n int, now time.Time) (*RefusedError, error) {
	return spendBucket(tx, "contact_write_budget", userID, n, float64(c.cfg.WritesPerDay), float64(c.cfg.WritesPerDay), now,
		bookWritesMessage)
}

const bookWritesMessage = "This address book was changed too much today. Try again in %s."

// bookWritesRefused reads, on the read pool, whether the user's budget of
// writes is short of n rows: such an upload is refused without taking the
// writer (spendBookWrites, in the write, is what enforces the budget).
func (c *Contacts) bookWritesRefused(ctx context.Context, conn *sql.Conn, userID int64, n int, now time.Time) (*RefusedError, error) {
	var tokens float64
	var updatedAt int64
	err := conn.QueryRowContext(ctx, "SELECT tokens, updated_at FROM contact_write_budget WHERE user_id = $1", userID).Scan(&tokens, &updatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		updatedAt = 0
	} else if err != nil {
		return nil, err
	}
	perDay := float64(c.cfg.WritesPerDay)
	return bucketRefusal(n, bucketTokens(tokens, updatedAt, perDay, perDay, now), perDay, perDay, bookWritesMessage), nil
}

// spendBucket takes n tokens from the user's bucket in table (one of the
// constant names above), of capacity tokens regaining perDay a day, or
// says how long to wait for enough of them (message has a %s for it).
func spendBucket(tx *gorm.DB, table string, userID int64, n int, capacity, perDay float64, now time.Time, message string) (*RefusedError, error) {
	if n == 0 {
		return nil, nil
	}
	var row struct {
		Tokens    float64
		UpdatedAt int64
	}
	err := tx.Raw("SELECT tokens, updated_at FROM "+table+" WHERE user_id = ?", userID).Scan(&row).Error
	if err != nil {
		return nil, err
	}
	tokens := bucketTokens(row.Tokens, row.UpdatedAt, capacity, perDay, now)
	if refused := bucketRefusal(n, tokens, capacity, perDay, message); refused != nil {
		return refused, nil
	}
	return nil, tx.Exec(`INSERT INTO `+table+` (user_id, tokens, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at`,
		userID, tokens-float64(n), toMillis(now)).Error
}

// bucketTokens is what a bucket holds now that held tokens at updatedAt
// (0: never used, full).
func bucketTokens(tokens float64, updatedAt int64, capacity, perDay float64, now time.Time) float64 {
	if updatedAt == 0 {
		return capacity
	}
	perMs := perDay / float64(24*time.Hour/time.Millisecond)
	return math.Min(capacity, tokens+float64(toMillis(now)-updatedAt)*perMs)
}

// bucketRefusal refuses n tokens from a bucket holding tokens, with the
// wait until it holds enough (nil when it does).
func bucketRefusal(n int, tokens, capacity, perDay float64, message string) *RefusedError {
	if float64(n) <= tokens {
		return nil
	}
	perMs := perDay / float64(24*time.Hour/time.Millisecond)
	wait := time.Duration(math.MaxInt64)
	if perMs > 0 {
		need := math.Min(float64(n), capacity) - tokens
		wait = time.Duration(math.Ceil(need/perMs)) * time.Millisecond
	}
	return &RefusedError{Reason: ReasonRateLimited, RetryAfter: max(wait, time.Second),
		Message: fmt.Sprintf(message, humanDuration(wait))}
}
