package models

import (
	"context"
	"time"
)

// pruneBatch bounds one delete so the single writer is never held for long.
const pruneBatch = 5000

// PruneSignIn deletes sign-in records older than before: codes, finished
// outbox messages, and phone guards not touched since (and not locked).
// Quotas look back one day at most, so anything older only serves the
// dashboard's history. The audit log is kept: it is append-only. It returns
// how many rows were deleted.
func PruneSignIn(ctx context.Context, db *DB, before time.Time) (int64, error) {
	cut := toMillis(before)
	// A batch is picked by its rows' keys: SQLite's rowid, which every one
	// of these tables has; PostgreSQL has no rowid, so there each table's
	// primary key.
	steps := []struct {
		table, key, where string
		args              []any
	}{
		{"outbox", "id", "state IN ('sent', 'failed') AND created_at < ?", []any{cut}},
		{"otp_codes", "id", "created_at < ? AND state != 'pending'", []any{cut}},
		{"otp_codes", "id", "expires_at < ?", []any{cut}},
		{"phone_guards", "phone", "updated_at < ? AND (locked_until IS NULL OR locked_until < ?)", []any{cut, cut}},
	}
	var total int64
	for _, s := range steps {
		key := db.SQL("rowid", s.key)
		for {
			// table, key and where are constants above; values are parameters.
			res := db.Write.WithContext(ctx).Exec("DELETE FROM "+s.table+" WHERE "+key+" IN (SELECT "+key+" FROM "+s.table+
				" WHERE "+s.where+" LIMIT ?)", append(s.args, pruneBatch)...)
			if res.Error != nil {
				return total, res.Error
			}
			total += res.RowsAffected
			if res.RowsAffected < pruneBatch {
				break
			}
		}
	}
	return total, nil
}
