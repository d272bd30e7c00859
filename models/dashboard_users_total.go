package models

import (
	"context"
	"strings"
)

// The user list's total for its filter: exact when an index serves the
// whole filter (the whole list, a phone prefix, a range of last-seen
// times, the blocked: the overview's figures are counted the same way),
// else exact up to totalBound, "more than totalBound" beyond, and never a
// full scan: a filter that no index serves is counted among the first
// totalScan users of the list's order.
const (
	totalBound = 10_000
	totalScan  = 20_000
	// nameTotalScan is smaller: each candidate of a name search has its
	// whole name folded and compared (about 15 µs), and a common piece such
	// as "use" is in every "User N" of a seeded million.
	nameTotalScan = 1_000
)

// EventAdminExportUsers is an administrator downloading the user list as
// CSV: the export holds every matching user's number and name.
const EventAdminExportUsers = "admin_export_users"

// EventAdminExportAudit is an administrator downloading the audit log as
// CSV: the export holds the numbers, IP addresses and user agents of its
// entries.
const EventAdminExportAudit = "admin_export_audit"

// UserTotal is how many users the filter matches.
type UserTotal struct {
	N    int64
	More bool // more than N
	// Scanned is set when a filter was checked on the first Scanned users
	// only: N (or "more than N") counts those.
	Scanned int
}

// CountUsers counts the users of a filter (its cursors ignored).
func (d *Dashboard) CountUsers(ctx context.Context, f UserFilter) (UserTotal, error) {
	db := d.db.Read.WithContext(ctx)
	var t UserTotal
	var inner string
	var args []any
	if f.Search.Mode == SearchName && runeLen(FoldName(f.Search.Prefix)) >= 3 {
		q, err := d.nameQuery(ctx, f.Search.Prefix, f)
		if err != nil {
			return t, err
		}
		scan := min(nameTotalScan, d.scanBudget)
		bound, err := d.gramBound(ctx, q.gram, "", nil, false, scan)
		if err != nil {
			return t, err
		}
		inner = q.walk("", "", false)
		args = append([]any{q.gram}, q.args...)
		if bound != 0 {
			inner = q.walk("", " AND g.user_id <= ?", false)
			args = append([]any{q.gram, bound}, q.args...)
			t.Scanned = scan
		}
	} else {
		s, err := d.userScope(f)
		if err != nil {
			return t, err
		}
		scope := "SELECT * FROM users"
		if len(s.where) > 0 {
			scope += " WHERE " + strings.Join(s.where, " AND ")
		}
		inner, args = scope, s.args
		if len(s.filters) == 0 && f.State != "active" { // an index range: counted whole
			err := db.Raw("SELECT count(*) FROM ("+scope+") AS matched", s.args...).Scan(&t.N).Error
			return t, err
		}
		if len(s.filters) > 0 {
			var walked int64
			if err := db.Raw("SELECT count(*) FROM ("+scope+" LIMIT ?) AS walked", append(append([]any{}, s.args...), totalScan)...).Scan(&walked).Error; err != nil {
				return t, err
			}
			if walked == totalScan {
				t.Scanned = totalScan
			}
			inner = "SELECT * FROM (" + scope + " LIMIT ?) AS users WHERE " + strings.Join(s.filters, " AND ")
			args = append(append(append([]any{}, s.args...), totalScan), s.fargs...)
		}
	}
	if err := db.Raw("SELECT count(*) FROM ("+inner+" LIMIT ?) AS matched", append(args, totalBound+1)...).Scan(&t.N).Error; err != nil {
		return t, err
	}
	if t.N > totalBound {
		t.N, t.More = totalBound, true
	}
	return t, nil
}
