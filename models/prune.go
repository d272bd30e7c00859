package models

import (
	"context"
	"strings"
	"time"
)

// pruneBatch bounds one delete so the single writer is never held for long.
const pruneBatch = 5000

// PruneSignIn deletes sign-in records older than before: codes, finished
// outbox messages, and phone guards not touched since (and not locked).
// Quotas look back one day at most, so anything older only serves the
// dashboard's history. Sign-in forms posted before are forgotten too (a
// form is valid for an hour). The audit log has its own retention
// (PruneAudit). It returns how many rows were deleted.
func PruneSignIn(ctx context.Context, db *DB, before time.Time) (int64, error) {
	cut := toMillis(before)
	// A batch is picked by its rows' keys: SQLite's rowid, which every one
	// of these tables has; PostgreSQL has no rowid, so there each table's
	// primary key.
	steps := []pruneStep{
		{"outbox", "id", "state IN ('sent', 'failed') AND created_at < ?", []any{cut}},
		{"otp_codes", "id", "created_at < ? AND state != 'pending'", []any{cut}},
		{"otp_codes", "id", "expires_at < ?", []any{cut}},
		{"phone_guards", "phone", "updated_at < ? AND (locked_until IS NULL OR locked_until < ?)", []any{cut, cut}},
		{"admin_login_forms", "token_hash", "used_at < ?", []any{cut}},
		{"account_exports", "token_hash", "expires_at < ?", []any{cut}}, // links never opened
	}
	return pruneSteps(ctx, db, steps)
}

// DefaultAuditRetention is how long audit entries are kept by default:
// over a year, so that a year's events can be looked back on.
const DefaultAuditRetention = 400 * 24 * time.Hour

// MinAuditRetention is the shortest retention the audit log accepts: its
// delete trigger refuses entries within 30 days of the latest one,
// whatever the configuration says.
const MinAuditRetention = 30 * 24 * time.Hour

// PruneAudit deletes audit entries older than before (by their last
// repeat, for a row that counts several), in batches, leaving those the
// delete trigger keeps (within MinAuditRetention of the latest entry: a
// log without new entries for a while keeps its last month). It returns
// how many rows were deleted.
func PruneAudit(ctx context.Context, db *DB, before time.Time) (int64, error) {
	cut := toMillis(before)
	return pruneSteps(ctx, db, []pruneStep{
		{"audit_log", "id", "at < ? AND coalesce(last_at, at) < ? AND at <= (SELECT max(at) FROM audit_log) - ?",
			[]any{cut, cut, MinAuditRetention.Milliseconds()}},
	})
}

// PruneGroups deletes what groups keep only to tell apps of a change they
// may not have synced yet: departures (a member who left or was removed,
// told once by the delta sync) and deleted groups (with their departures),
// older than before. The server passes the token lifetime: a departure
// older than that was synced by every token that could still sync, since
// each was issued after it or has expired. It returns how many rows were
// deleted.
func PruneGroups(ctx context.Context, db *DB, before time.Time) (int64, error) {
	cut := toMillis(before)
	return pruneSteps(ctx, db, []pruneStep{
		{"group_departures", "group_id, user_id", "left_at < ?", []any{cut}},
		{"chat_groups", "id", "deleted_at < ?", []any{cut}},
	})
}

// pruneStep deletes the rows of table matching where, picked by key: on
// SQLite by rowid, but by a key of several columns (the primary key of a
// table without rowid) on both databases.
type pruneStep struct {
	table, key, where string
	args              []any
}

// pruneSteps runs the steps in batches of pruneBatch rows.
func pruneSteps(ctx context.Context, db *DB, steps []pruneStep) (int64, error) {
	var total int64
	for _, s := range steps {
		key := db.SQL("rowid", s.key)
		if strings.Contains(s.key, ",") {
			key = s.key
		}
		for {
			// table, key and where are constants above; values are parameters.
			n, err := WriteTx(ctx, db, func(tx *Tx) (int64, error) {
				res := tx.Exec("DELETE FROM "+s.table+" WHERE ("+key+") IN (SELECT "+key+" FROM "+s.table+
					" WHERE "+s.where+" LIMIT ?)", append(s.args, pruneBatch)...)
				return res.RowsAffected, res.Error
			})
			if err != nil {
				return total, err
			}
			total += n
			if n < pruneBatch {
				break
			}
		}
	}
	return total, nil
}
