package models

import (
	"context"
	"errors"
	"strconv"
	"strings"
)

// UserFilter is the user list's whole state (it all lives in the URL).
type UserFilter struct {
	Search        UserSearch
	State         string // "", "active", "blocked"
	InactiveDays  int    // > 0: not seen for this many days
	NeverVerified bool   // no verified code on record (users created by import or seed)
	Sort          string // "seen" (default) or "created"; searches sort by the matched key
	After         string // keyset cursor from the previous page
	Limit         int
}

// UserRow is one line of the user list.
type UserRow struct {
	User
	Devices int
}

// UserPage is one page of the user list.
type UserPage struct {
	Rows []UserRow
	Next string // cursor of the next page; "" on the last page
	// Scanned is set when a filtered page stopped at the scan budget before
	// it was full: later pages may hold more matches.
	Scanned int
}

// defaultScanBudget bounds the users one filtered page looks at (about
// 80 ms for the never-verified probe on a million users, on 2 slow cores).
const defaultScanBudget = 5_000

// ErrBadCursor is a cursor that this server did not write.
var ErrBadCursor = errors.New("bad page cursor")

// ListUsers returns one keyset page of users. Every query walks an index in
// order (phone, name, last seen or sign-up) so a page costs the same on the
// first page and the ten-thousandth, on a million users.
func (d *Dashboard) ListUsers(ctx context.Context, f UserFilter) (*UserPage, error) {
	now := toMillis(d.clock.Now())
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	var where []string
	var args []any
	var order string
	var cursorOf func(u *User) string
	switch f.Search.Mode {
	case SearchPhone:
		where = append(where, "phone >= ? AND phone < ?")
		args = append(args, f.Search.Prefix, f.Search.Prefix+":") // ':' sorts right after '9'
		if f.After != "" {
			where = append(where, "phone > ?")
			args = append(args, f.After)
		}
		order = "phone"
		cursorOf = func(u *User) string { return u.Phone }
	case SearchName:
		where = append(where, "name COLLATE NOCASE >= ? AND name COLLATE NOCASE < ?")
		args = append(args, f.Search.Prefix, f.Search.Prefix+"\U0010FFFF")
		if f.After != "" {
			id, name, ok := strings.Cut(f.After, ".")
			n, err := strconv.ParseInt(id, 10, 64)
			if !ok || err != nil {
				return nil, ErrBadCursor
			}
			where = append(where, "(name COLLATE NOCASE > ? OR (name COLLATE NOCASE = ? AND id > ?))")
			args = append(args, name, name, n)
		}
		order = "name COLLATE NOCASE, id"
		cursorOf = func(u *User) string { return strconv.FormatInt(u.ID, 10) + "." + u.Name }
	default:
		col := "coalesce(last_seen_at, 0)"
		cursorOf = func(u *User) string {
			v := int64(0)
			if u.LastSeenAt != nil {
				v = *u.LastSeenAt
			}
			return strconv.FormatInt(v, 10) + "." + strconv.FormatInt(u.ID, 10)
		}
		if f.Sort == "created" {
			col = "created_at"
			cursorOf = func(u *User) string {
				return strconv.FormatInt(u.CreatedAt, 10) + "." + strconv.FormatInt(u.ID, 10)
			}
		}
		if f.After != "" {
			a, b, ok := strings.Cut(f.After, ".")
			v, err1 := strconv.ParseInt(a, 10, 64)
			id, err2 := strconv.ParseInt(b, 10, 64)
			if !ok || err1 != nil || err2 != nil {
				return nil, ErrBadCursor
			}
			where = append(where, "("+col+" < ? OR ("+col+" = ? AND id < ?))")
			args = append(args, v, v, id)
		}
		order = col + " DESC, id DESC"
	}
	// Filters the indexes serve go into the scope; the others (filters)
	// are applied to a bounded scan, see below.
	var filters []string
	var fargs []any
	switch f.State {
	case "blocked": // rare: the partial index users_blocked finds them
		where = append(where, "blocked_until > ?")
		args = append(args, now)
	case "active": // most users: a page fills at once
		where = append(where, "(blocked_until IS NULL OR blocked_until <= ?)")
		args = append(args, now)
	}
	if f.InactiveDays > 0 {
		cond := "coalesce(last_seen_at, 0) < ?"
		cut := now - int64(f.InactiveDays)*24*3600*1000
		if f.Search.Mode == SearchAll && f.Sort != "created" {
			where = append(where, cond) // a range of users_last_seen, in page order
			args = append(args, cut)
		} else {
			filters = append(filters, cond)
			fargs = append(fargs, cut)
		}
	}
	if f.NeverVerified {
		filters = append(filters, "NOT EXISTS (SELECT 1 FROM otp_codes o WHERE o.phone = users.phone AND o.state = 'verified')")
	}
	scope := "SELECT * FROM users"
	if len(where) > 0 {
		scope += " WHERE " + strings.Join(where, " AND ")
	}
	scope += " ORDER BY " + order
	db := d.db.Read.WithContext(ctx)
	var users []User
	page := &UserPage{}
	if len(filters) == 0 {
		if err := db.Raw(scope+" LIMIT ?", append(args, limit+1)...).Scan(&users).Error; err != nil {
			return nil, err
		}
	} else {
		// A filter that few users match would walk the whole index to fill
		// a page. So one page looks at no more than scanBudget users in
		// order; when it ends short, the next page goes on from there.
		inner := "SELECT * FROM (" + scope + " LIMIT ?) AS users WHERE " + strings.Join(filters, " AND ") + " ORDER BY " + order + " LIMIT ?"
		a := append(append(append([]any{}, args...), d.scanBudget), fargs...)
		if err := db.Raw(inner, append(a, limit+1)...).Scan(&users).Error; err != nil {
			return nil, err
		}
		if len(users) <= limit {
			var last []User
			if err := db.Raw(scope+" LIMIT 1 OFFSET ?", append(args, d.scanBudget-1)...).Scan(&last).Error; err != nil {
				return nil, err
			}
			if len(last) == 1 {
				page.Next, page.Scanned = cursorOf(&last[0]), d.scanBudget
			}
		}
	}
	if len(users) > limit {
		users = users[:limit]
		page.Next = cursorOf(&users[limit-1])
	}
	devices, err := d.liveDevices(ctx, users, now)
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		page.Rows = append(page.Rows, UserRow{User: u, Devices: devices[u.ID]})
	}
	return page, nil
}

func (d *Dashboard) liveDevices(ctx context.Context, users []User, now int64) (map[int64]int, error) {
	out := map[int64]int{}
	if len(users) == 0 {
		return out, nil
	}
	ids := make([]int64, len(users))
	for i := range users {
		ids[i] = users[i].ID
	}
	var rows []struct {
		UserID int64
		N      int
	}
	err := d.db.Read.WithContext(ctx).Raw(`SELECT user_id, COUNT(*) AS n FROM sessions
		WHERE user_id IN ? AND revoked_at IS NULL AND expires_at > ? GROUP BY user_id`, ids, now).Scan(&rows).Error
	for _, r := range rows {
		out[r.UserID] = r.N
	}
	return out, err
}
