package models

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
)

// UserFilter is the user list's whole state (it all lives in the URL).
type UserFilter struct {
	Search        UserSearch
	State         string // "", "active", "blocked", "lost", "pending" (deletion)
	InactiveDays  int    // > 0: not seen for this many days
	ActiveDays    int    // > 0: seen in the last this many days
	NeverVerified bool   // never signed in: no sign-in or app request on record (seen_key 0: users created by import or seed)
	// Date ranges in ms, From inclusive, To exclusive, 0 = no bound: when
	// the user signed up, and when last seen (a user never seen is out of
	// any last-seen range).
	CreatedFrom, CreatedTo int64
	SeenFrom, SeenTo       int64
	// Sort is the column the list is in order of: "seen" (default),
	// "created", "phone" or "name". A phone search is in phone order, a
	// name search in sign-up order (the order of its index).
	Sort   string
	Desc   bool   // descending (the default of seen and created)
	After  string // keyset cursor: the page after this row
	Before string // keyset cursor: the page before this row (After wins)
	Last   bool   // without a cursor: the list's last page (not for a search inside names)
	Limit  int
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
	Prev string // cursor of the previous page; "" on the first page
	// Scanned is set when a filtered page stopped at the scan budget before
	// it was full: later pages may hold more matches.
	Scanned int
}

// defaultScanBudget bounds the users one filtered page looks at (about
// 80 ms for the never-verified probe on a million users, on 2 slow cores).
const defaultScanBudget = 5_000

// ErrBadCursor is a cursor that this server did not write.
var ErrBadCursor = errors.New("bad page cursor")

// userKey is the order of a list: a sort expression (with the user id as
// the tie-break) and how a row's cursor is written ("id.value").
type userKey struct {
	expr  string // "" for the id alone
	index string // the index of (expr, id): the walk of a cursor's ties is forced onto it
	value func(u *User) string
	text  bool // the cursor's value is text, not a number
	// lower: expr is lower(column) (PostgreSQL's form of NOCASE), so the
	// values compared with it are folded the same way in Go.
	lower bool
}

func (d *Dashboard) keyOf(sort string) userKey {
	millis := func(v *int64) string {
		if v == nil {
			return "0"
		}
		return strconv.FormatInt(*v, 10)
	}
	switch sort {
	case "created":
		return userKey{expr: "created_at", index: "users_created", value: func(u *User) string { return strconv.FormatInt(u.CreatedAt, 10) }}
	case "phone":
		return userKey{expr: "phone", value: func(u *User) string { return u.Phone }, text: true}
	case "name":
		// SQLite compares the name with NOCASE; PostgreSQL's column is "C",
		// folded by lower() (ASCII only there, as NOCASE), which its index
		// users_name_nocase (lower(name), id) serves.
		return userKey{expr: d.db.SQL("name COLLATE NOCASE", "lower(name)"), index: "users_name_nocase",
			value: func(u *User) string { return u.Name }, text: true, lower: d.db.Postgres()}
	}
	return userKey{expr: "seen_key", index: "users_seen_key", value: func(u *User) string { return millis(u.LastSeenAt) }}
}

func (k userKey) cursor(u *User) string {
	return strconv.FormatInt(u.ID, 10) + "." + k.value(u)
}

// after is "past the cursor" in the walk's direction, as two conditions
// each an index range: the rest of the cursor's key value (ties, by id),
// then the key values beyond it. (One condition "k > v OR (k = v AND id >
// n)" makes SQLite scan the index from its start: a deep page, or a million
// users sharing "never seen", would cost a scan of everything before it.)
func (k userKey) after(cursor string, desc bool) (ties, beyond string, tieArgs, beyondArgs []any, err error) {
	idText, v, ok := strings.Cut(cursor, ".")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil {
		return "", "", nil, nil, ErrBadCursor
	}
	var val any = k.arg(v)
	if !k.text {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return "", "", nil, nil, ErrBadCursor
		}
		val = n
	}
	op := ">"
	if desc {
		op = "<"
	}
	return k.expr + " = ? AND id " + op + " ?", k.expr + " " + op + " ?", []any{val, id}, []any{val}, nil
}

// arg is a text value as the SQL compares it with expr.
func (k userKey) arg(v string) string {
	if k.lower {
		return lowerASCII(v)
	}
	return v
}

func (k userKey) order(desc bool) string {
	if desc {
		return k.expr + " DESC, id DESC"
	}
	return k.expr + ", id"
}

// ListUsers returns one keyset page of users. Every query walks an index in
// order (phone, name, last seen, sign-up, or the name trigrams) so a page
// costs the same on the first page and the ten-thousandth, on a million
// users. A page "before" a cursor walks the same index backwards.
func (d *Dashboard) ListUsers(ctx context.Context, f UserFilter) (*UserPage, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	if f.Search.Mode == SearchName && runeLen(FoldName(f.Search.Prefix)) >= 3 {
		return d.listByName(ctx, f)
	}
	s, err := d.userScope(f)
	if err != nil {
		return nil, err
	}
	cursor, back := f.After, false
	switch {
	case cursor == "" && f.Before != "":
		cursor, back = f.Before, true
	case cursor == "" && f.Last: // walked back from the list's end
		back = true
	}
	desc := s.desc != back // walking back reverses the order
	order := s.key.order(desc)
	where := func(extra string) string {
		w := s.where
		if extra != "" {
			w = append(slices.Clip(w), extra)
		}
		if len(w) == 0 {
			return ""
		}
		return " WHERE " + strings.Join(w, " AND ")
	}
	// scope is the list from the cursor on, in order; limit bounds each
	// half of a cursor's walk.
	scope := func(limit int) (string, []any) {
		return "SELECT * FROM users" + where("") + " ORDER BY " + order, slices.Clone(s.args)
	}
	if cursor != "" {
		ties, beyond, targs, bargs, err := s.key.after(cursor, desc)
		if err != nil {
			return nil, err
		}
		tieOrder, tieFrom := "id", "users"
		if desc {
			tieOrder = "id DESC"
		}
		if s.key.index != "" { // else SQLite may walk the primary key and check the value
			tieFrom = d.db.indexedBy("users", s.key.index)
		}
		scope = func(limit int) (string, []any) {
			q := "SELECT * FROM (SELECT * FROM (SELECT * FROM " + tieFrom + where(ties) + " ORDER BY " + tieOrder + " LIMIT ?) AS ties" +
				" UNION ALL SELECT * FROM (SELECT * FROM users" + where(beyond) + " ORDER BY " + order + " LIMIT ?) AS beyond) AS users ORDER BY " + order
			a := append(append(slices.Clone(s.args), targs...), limit)
			return q, append(append(append(a, s.args...), bargs...), limit)
		}
	}
	db := d.db.Read.WithContext(ctx)
	var users []User
	page := &UserPage{}
	budgetCursor := ""
	if len(s.filters) == 0 {
		q, args := scope(f.Limit + 1)
		if err := db.Raw(q+" LIMIT ?", append(args, f.Limit+1)...).Scan(&users).Error; err != nil {
			return nil, err
		}
	} else {
		// A filter that few users match would walk the whole index to fill
		// a page. So one page looks at no more than scanBudget users in
		// order; when it ends short, the next page goes on from there.
		q, args := scope(d.scanBudget)
		inner := "SELECT * FROM (" + q + " LIMIT ?) AS users WHERE " + strings.Join(s.filters, " AND ") + " ORDER BY " + order + " LIMIT ?"
		a := append(append(append([]any{}, args...), d.scanBudget), s.fargs...)
		if err := db.Raw(inner, append(a, f.Limit+1)...).Scan(&users).Error; err != nil {
			return nil, err
		}
		if len(users) <= f.Limit {
			var last []User
			if err := db.Raw(q+" LIMIT 1 OFFSET ?", append(args, d.scanBudget-1)...).Scan(&last).Error; err != nil {
				return nil, err
			}
			if len(last) == 1 {
				budgetCursor, page.Scanned = s.key.cursor(&last[0]), d.scanBudget
			}
		}
	}
	more := len(users) > f.Limit
	if more {
		users = users[:f.Limit]
	}
	page.pageLinks(users, s.key.cursor, cursor != "", back, more, budgetCursor)
	return d.withDevices(ctx, page, users)
}

// pageLinks sets Next and Prev of a page walked forward or back (back: the
// rows came in reverse order and are put back in the list's order). more
// says rows lie beyond the page in the walk's direction; budget is where a
// scan that ran out of budget stopped.
func (p *UserPage) pageLinks(users []User, cursor func(*User) string, fromCursor, back, more bool, budget string) {
	if back {
		slices.Reverse(users)
	}
	first, last := "", ""
	if len(users) > 0 {
		first, last = cursor(&users[0]), cursor(&users[len(users)-1])
	}
	ahead, behind := last, first // the cursors on the walk's side and on the other
	if back {
		ahead, behind = first, last
	}
	if !more {
		ahead = budget // "" on the last page
	}
	if !fromCursor {
		behind = ""
	} else if behind == "" {
		behind = budget // an empty page of a budgeted scan: back from where it stopped
	}
	if back {
		p.Prev, p.Next = ahead, behind
	} else {
		p.Next, p.Prev = ahead, behind
	}
}

// userScope is a filter as SQL: the conditions its index serves (where),
// the ones checked on a bounded scan (filters), and the order.
type userScope struct {
	key     userKey
	desc    bool
	where   []string
	args    []any
	filters []string
	fargs   []any
}

func (d *Dashboard) userScope(f UserFilter) (userScope, error) {
	now := toMillis(d.clock.Now())
	var s userScope
	switch f.Search.Mode {
	case SearchPhone:
		s.key, s.desc = d.keyOf("phone"), f.Desc
		s.where = append(s.where, "phone >= ? AND phone < ?")
		s.args = append(s.args, f.Search.Prefix, f.Search.Prefix+":") // ':' sorts right after '9'
	case SearchName: // shorter than a trigram: names starting with it
		s.key, s.desc = d.keyOf("name"), f.Desc
		s.where = append(s.where, s.key.expr+" >= ? AND "+s.key.expr+" < ?")
		s.args = append(s.args, s.key.arg(f.Search.Prefix), s.key.arg(f.Search.Prefix+"\U0010FFFF"))
	default:
		s.key, s.desc = d.keyOf(f.Sort), f.Desc
	}
	s.where, s.args, s.filters, s.fargs = appendUserFilters(f, now, s.where, s.args)
	return s, nil
}

// appendUserFilters adds the state, inactivity and never-verified filters:
// to where when an index serves them in the list's order, else to filters.
func appendUserFilters(f UserFilter, now int64, where []string, args []any) ([]string, []any, []string, []any) {
	var filters []string
	var fargs []any
	switch f.State {
	case "blocked": // rare: the partial index users_blocked finds them
		where = append(where, "blocked_until > ?")
		args = append(args, now)
	case "lost": // accounts detached from a recycled number
		where = append(where, "number_lost_at IS NOT NULL")
	case "pending": // accounts their users asked to delete, in the grace period
		where = append(where, "delete_after IS NOT NULL")
	case "active": // most users: a page fills at once
		where = append(where, "(blocked_until IS NULL OR blocked_until <= ?)")
		args = append(args, now)
	}
	if f.InactiveDays > 0 {
		cond := "seen_key < ?"
		cut := now - int64(f.InactiveDays)*24*3600*1000
		if f.Search.Mode == SearchAll && (f.Sort == "" || f.Sort == "seen") {
			where = append(where, cond) // a range of users_seen_key, in page order
			args = append(args, cut)
		} else {
			filters = append(filters, cond)
			fargs = append(fargs, cut)
		}
	}
	if f.ActiveDays > 0 {
		cond := "seen_key >= ?"
		cut := now - int64(f.ActiveDays)*24*3600*1000
		if f.Search.Mode == SearchAll && (f.Sort == "" || f.Sort == "seen") {
			where = append(where, cond)
			args = append(args, cut)
		} else {
			filters = append(filters, cond)
			fargs = append(fargs, cut)
		}
	}
	if f.NeverVerified {
		// A sign-in sets last_seen_at: the users table says it, whatever
		// codes the retention pruned.
		cond := "seen_key = 0"
		if f.Search.Mode == SearchAll && (f.Sort == "" || f.Sort == "seen") {
			where = append(where, cond) // a range of users_seen_key, in page order
		} else {
			filters = append(filters, cond)
		}
	}
	// A range of the index of the list's order when it is in order of that
	// column, else checked on the bounded scan.
	seenFrom := f.SeenFrom
	if f.SeenTo > 0 {
		seenFrom = max(seenFrom, 1) // seen_key 0: never seen
	}
	for _, r := range []struct {
		cond, sort string
		v          int64
	}{
		{"created_at >= ?", "created", f.CreatedFrom}, {"created_at < ?", "created", f.CreatedTo},
		{"seen_key >= ?", "seen", seenFrom}, {"seen_key < ?", "seen", f.SeenTo},
	} {
		switch {
		case r.v <= 0:
		case f.Search.Mode == SearchAll && (f.Sort == r.sort || (f.Sort == "" && r.sort == "seen")):
			where, args = append(where, r.cond), append(args, r.v)
		default:
			filters, fargs = append(filters, r.cond), append(fargs, r.v)
		}
	}
	return where, args, filters, fargs
}

func (d *Dashboard) withDevices(ctx context.Context, page *UserPage, users []User) (*UserPage, error) {
	devices, err := d.liveDevices(ctx, users, toMillis(d.clock.Now()))
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
