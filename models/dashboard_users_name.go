package models

import (
	"context"
	"strconv"
	"strings"
)

// The user list's name search: substring, ignoring case and accents,
// through the trigram table of migration 0008 (see name_search.go).

// gramCountCap bounds the count that picks a search's rarest trigram.
const gramCountCap = 2_000

// nameQuery is a name search as SQL: the rarest trigram's rows are walked
// in user-id order; the other trigrams (cheap primary-key probes) and the
// whole folded name are checked on each.
type nameQuery struct {
	gram   string
	checks []string
	args   []any
}

func (d *Dashboard) nameQuery(ctx context.Context, text string, f UserFilter) (nameQuery, error) {
	folded := FoldName(text)
	grams := NameGrams(folded)
	// At most six grams are weighed (spread over the text): enough to find
	// a rare one, and a 64-character search costs no more than a short one.
	if len(grams) > 6 {
		pick := make([]string, 0, 6)
		for i := range 6 {
			pick = append(pick, grams[i*(len(grams)-1)/5])
		}
		grams = pick
	}
	best, bestN := grams[0], int64(-1)
	for _, g := range grams {
		var n int64
		if err := d.db.Read.WithContext(ctx).Raw("SELECT count(*) FROM (SELECT 1 FROM user_name_grams WHERE gram = ? LIMIT ?) AS found", g, gramCountCap).Scan(&n).Error; err != nil {
			return nameQuery{}, err
		}
		if bestN < 0 || n < bestN {
			best, bestN = g, n
		}
	}
	q := nameQuery{gram: best}
	for _, g := range grams {
		if g != best {
			q.checks = append(q.checks, "EXISTS (SELECT 1 FROM user_name_grams o WHERE o.gram = ? AND o.user_id = users.id)")
			q.args = append(q.args, g)
		}
	}
	q.checks = append(q.checks, d.db.foldNameSQL("users.name")+` LIKE ? ESCAPE '\'`)
	q.args = append(q.args, "%"+likeEscape(folded)+"%")
	where, wargs, filters, fargs := appendUserFilters(f, toMillis(d.clock.Now()), nil, nil)
	q.checks = append(append(q.checks, where...), filters...)
	q.args = append(append(q.args, wargs...), fargs...)
	return q, nil
}

// walk is the SQL of the walk over the rarest trigram's rows past a cursor
// (cursorCond) and up to the budget's bound (boundCond), in id order,
// joined to users and checked. The walk's order is the trigram index's:
// no sort, so a page stops after its rows, folding only the names it
// looked at (a walk with LIMIT in a subquery then sorted folds them all).
func (q nameQuery) walk(cursorCond, boundCond string, desc bool) string {
	order := "g.user_id"
	if desc {
		order = "g.user_id DESC"
	}
	return "SELECT users.* FROM user_name_grams g JOIN users ON users.id = g.user_id WHERE g.gram = ?" + cursorCond + boundCond +
		" AND " + strings.Join(q.checks, " AND ") + " ORDER BY " + order
}

// bound is the id where a walk of budget rows from the cursor ends, 0 when
// fewer rows are left.
func (d *Dashboard) gramBound(ctx context.Context, gram, cursorCond string, cargs []any, desc bool, budget int) (int64, error) {
	order := "user_id"
	if desc {
		order = "user_id DESC"
	}
	var last []int64
	err := d.db.Read.WithContext(ctx).Raw("SELECT user_id FROM user_name_grams g WHERE gram = ?"+cursorCond+" ORDER BY "+order+" LIMIT 1 OFFSET ?",
		append(append([]any{gram}, cargs...), budget-1)...).Scan(&last).Error
	if err != nil || len(last) == 0 {
		return 0, err
	}
	return last[0], nil
}

func (d *Dashboard) listByName(ctx context.Context, f UserFilter) (*UserPage, error) {
	q, err := d.nameQuery(ctx, f.Search.Prefix, f)
	if err != nil {
		return nil, err
	}
	cursor, back := f.After, false
	if cursor == "" && f.Before != "" {
		cursor, back = f.Before, true
	}
	var cursorCond string
	var cargs []any
	if cursor != "" {
		id, err := strconv.ParseInt(strings.TrimSuffix(cursor, "."), 10, 64)
		if err != nil {
			return nil, ErrBadCursor
		}
		cursorCond = " AND g.user_id > ?"
		if back {
			cursorCond = " AND g.user_id < ?"
		}
		cargs = append(cargs, id)
	}
	bound, err := d.gramBound(ctx, q.gram, cursorCond, cargs, back, d.scanBudget)
	if err != nil {
		return nil, err
	}
	var boundCond string
	args := append([]any{q.gram}, cargs...)
	if bound != 0 {
		boundCond = " AND g.user_id <= ?"
		if back {
			boundCond = " AND g.user_id >= ?"
		}
		args = append(args, bound)
	}
	args = append(args, q.args...)
	var users []User
	if err := d.db.Read.WithContext(ctx).Raw(q.walk(cursorCond, boundCond, back)+" LIMIT ?", append(args, f.Limit+1)...).Scan(&users).Error; err != nil {
		return nil, err
	}
	page := &UserPage{}
	more := len(users) > f.Limit
	if more {
		users = users[:f.Limit]
	}
	budget := ""
	if !more && bound != 0 { // the walk stopped at its budget: the next page goes on from there
		budget, page.Scanned = strconv.FormatInt(bound, 10)+".", d.scanBudget
	}
	idCursor := func(u *User) string { return strconv.FormatInt(u.ID, 10) + "." }
	page.pageLinks(users, idCursor, cursor != "", back, more, budget)
	return d.withDevices(ctx, page, users)
}
