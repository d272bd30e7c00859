package models

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
	"gorm.io/gorm"
)

// BlockedForever is blocked_until for "blocked until unblocked": 9999-12-31.
const BlockedForever int64 = 253402300799000

// Dashboard holds the read models and user actions of the admin dashboard.
type Dashboard struct {
	db       *DB
	clock    Clock
	sessions *Sessions
	// photoDir is where profile photos live; a deleted user's photo goes too.
	photoDir   string
	scanBudget int
}

// NewDashboard returns the dashboard's data access.
func NewDashboard(db *DB, clock Clock, sessions *Sessions, photoDir string) *Dashboard {
	return &Dashboard{db: db, clock: clock, sessions: sessions, photoDir: photoDir, scanBudget: defaultScanBudget}
}

// Search modes of the user list.
const (
	SearchAll   = "all"
	SearchPhone = "phone"
	SearchName  = "name"
)

// UserSearch is the search box's text, understood.
type UserSearch struct {
	Mode   string // SearchAll, SearchPhone or SearchName
	Prefix string // phone: an E.164 prefix ("+1201555"); name: the name prefix
	Exact  bool   // phone: Prefix is a whole possible number
}

// ParseUserSearch tells a phone number or prefix (any format; national
// formats read in region) from a name.
func ParseUserSearch(q, region string) UserSearch {
	q = CleanText(q, MaxNameLen) // names are stored cleaned the same way
	if q == "" {
		return UserSearch{Mode: SearchAll}
	}
	digits, intl, ok := phoneish(q)
	if !ok {
		return UserSearch{Mode: SearchName, Prefix: q}
	}
	if intl {
		if e164, ok := wholeNumber("+"+digits, ""); ok {
			return UserSearch{Mode: SearchPhone, Prefix: e164, Exact: true}
		}
		return UserSearch{Mode: SearchPhone, Prefix: "+" + digits}
	}
	region = strings.ToUpper(region)
	if e164, ok := wholeNumber(digits, region); ok {
		return UserSearch{Mode: SearchPhone, Prefix: e164, Exact: true}
	}
	cc := phonenumbers.GetCountryCodeForRegion(region)
	if cc == 0 {
		return UserSearch{Mode: SearchPhone, Prefix: "+" + digits}
	}
	national := strings.TrimPrefix(digits, "0") // the trunk prefix of most countries
	if cc == 1 {
		national = strings.TrimPrefix(digits, "1") // NANP's trunk prefix
	}
	return UserSearch{Mode: SearchPhone, Prefix: "+" + strconv.Itoa(cc) + national}
}

// ParseDashboardPhone reads a whole number typed by an admin: international
// with + or 00, else national in the dashboard's region. (ParsePhone tries
// the protocol's "digits with country code" first, which would read the US
// number "2015550123" as +20.)
func ParseDashboardPhone(raw, region string) (Phone, error) {
	digits, intl, ok := phoneish(strings.TrimSpace(raw))
	if !ok {
		return Phone{}, ErrPhoneFormat
	}
	s, region := digits, strings.ToUpper(region)
	if intl {
		s, region = "+"+digits, ""
	}
	p, _, err := parsePossible(s, region, false)
	return p, err
}

// wholeNumber reports whether s is a whole number with its area code
// ("possible local only" numbers such as a US 7-digit number are prefixes).
func wholeNumber(s, region string) (string, bool) {
	if region == "" {
		region = "ZZ"
	}
	num, err := phonenumbers.Parse(s, region)
	if err != nil || phonenumbers.IsPossibleNumberWithReason(num) != phonenumbers.IS_POSSIBLE {
		return "", false
	}
	return phonenumbers.Format(num, phonenumbers.E164), true
}

// phoneish returns the digits of text that looks like a phone number (digits
// and the punctuation people write in numbers), and whether it is written
// internationally (+ or 00).
func phoneish(q string) (digits string, intl, ok bool) {
	digits, intl, ok = phoneDigits(q)
	if !ok || digits == "" || len(digits) > 20 {
		return "", false, false
	}
	if !intl && strings.HasPrefix(digits, "00") {
		digits, intl = digits[2:], true
	}
	return digits, intl, digits != ""
}

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

// UserDetail is everything the user page shows that Roster has today.
type UserDetail struct {
	User     User
	Sessions []Session
	Codes    []CodeRow
	Activity []AuditEntry
}

// CodeRow is a code request with its effective state and delivery.
type CodeRow struct {
	OTPCode
	Effective string // pending, verified, expired, locked, superseded
	Delivery  string // outbox state ("sent", "failed: ...") or a note
	OutboxAt  *int64
}

// UserByID returns one user.
func (d *Dashboard) UserByID(ctx context.Context, id int64) (*User, error) {
	var u User
	err := d.db.Read.WithContext(ctx).Take(&u, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	return &u, err
}

// UserDetail loads a user's page.
func (d *Dashboard) UserDetail(ctx context.Context, id int64) (*UserDetail, error) {
	u, err := d.UserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	det := &UserDetail{User: *u}
	db := d.db.Read.WithContext(ctx)
	if err := db.Where("user_id = ?", id).Order("revoked_at IS NOT NULL, last_used_at DESC").Limit(100).Find(&det.Sessions).Error; err != nil {
		return nil, err
	}
	if det.Codes, err = d.codes(ctx, "phone = ?", []any{u.Phone}, 20); err != nil {
		return nil, err
	}
	err = db.Where("phone = ? OR user_id = ?", u.Phone, u.ID).Order("at DESC, id DESC").Limit(100).Find(&det.Activity).Error
	return det, err
}

// codes returns code requests with their delivery, newest first.
func (d *Dashboard) codes(ctx context.Context, where string, args []any, limit int) ([]CodeRow, error) {
	var otps []OTPCode
	if err := d.db.Read.WithContext(ctx).Where(where, args...).Order("id DESC").Limit(limit).Find(&otps).Error; err != nil {
		return nil, err
	}
	now := toMillis(d.clock.Now())
	ids := make([]int64, len(otps))
	phones := map[string]bool{}
	for i := range otps {
		ids[i] = otps[i].ID
		phones[otps[i].Phone] = true
	}
	var msgs []OutboxMessage
	if len(ids) > 0 {
		if err := d.db.Read.WithContext(ctx).Where("otp_id IN ?", ids).Find(&msgs).Error; err != nil {
			return nil, err
		}
	}
	byOTP := map[int64]OutboxMessage{}
	for _, m := range msgs {
		byOTP[*m.OTPID] = m
	}
	locked := map[string]bool{}
	if len(phones) > 0 {
		var ps []string
		for p := range phones {
			ps = append(ps, p)
		}
		var lockedPhones []string
		if err := d.db.Read.WithContext(ctx).Model(&phoneGuard{}).Where("phone IN ? AND locked_until > ?", ps, now).
			Pluck("phone", &lockedPhones).Error; err != nil {
			return nil, err
		}
		for _, p := range lockedPhones {
			locked[p] = true
		}
	}
	rows := make([]CodeRow, len(otps))
	for i, o := range otps {
		r := CodeRow{OTPCode: o, Effective: o.State}
		switch {
		case o.State == CodePending && o.ExpiresAt <= now:
			r.Effective = CodeExpired
		case o.State == CodeExhausted:
			r.Effective = "locked"
		}
		if r.Effective == CodePending && locked[o.Phone] {
			r.Effective = "locked"
		}
		switch m, ok := byOTP[o.ID]; {
		case ok:
			r.Delivery = m.State + " via " + m.Channel
			if m.State == OutboxFailed || (m.State == OutboxPending && m.LastError != "") {
				r.Delivery += ": " + truncate(m.LastError, 120)
			}
			r.OutboxAt = m.SentAt
		case o.Channel == "":
			r.Delivery = "not sent (demo-code mode or test number)"
		default:
			r.Delivery = "no message"
		}
		rows[i] = r
	}
	return rows, nil
}

// RecentCodes returns the newest code requests.
func (d *Dashboard) RecentCodes(ctx context.Context, phonePrefix string, limit int) ([]CodeRow, error) {
	if phonePrefix != "" {
		return d.codes(ctx, "phone >= ? AND phone < ?", []any{phonePrefix, phonePrefix + ":"}, limit)
	}
	return d.codes(ctx, "1 = 1", nil, limit)
}

// RefusedRequests are recent code requests refused by the quotas (they
// create no code, only an audit entry).
func (d *Dashboard) RefusedRequests(ctx context.Context, limit int) ([]AuditEntry, error) {
	// One query per type, each walking audit_type (type, at) backwards: an
	// IN over both types would let SQLite walk the time index instead and
	// read the whole log when refusals are rare.
	var all []AuditEntry
	for _, typ := range []string{EventCodeRateLimited, EventPhoneLocked} {
		var es []AuditEntry
		if err := d.db.Read.WithContext(ctx).Where("type = ?", typ).Order("at DESC").Limit(limit).Find(&es).Error; err != nil {
			return nil, err
		}
		all = append(all, es...)
	}
	slices.SortFunc(all, func(a, b AuditEntry) int {
		if a.At != b.At {
			return cmp.Compare(b.At, a.At)
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return all[:min(len(all), limit)], nil
}

// Unverified is a number that asked for codes and never signed in.
type Unverified struct {
	Phone    string
	Requests int
	LastAt   int64
}

// UnverifiedSignUps lists numbers with codes in the last week and no user.
func (d *Dashboard) UnverifiedSignUps(ctx context.Context, limit int) ([]Unverified, error) {
	since := toMillis(d.clock.Now().Add(-7 * 24 * time.Hour))
	var out []Unverified
	err := d.db.Read.WithContext(ctx).Raw(`SELECT phone, COUNT(*) AS requests, MAX(created_at) AS last_at
		FROM otp_codes o INDEXED BY otp_codes_created WHERE created_at > ? AND NOT EXISTS (SELECT 1 FROM users u WHERE u.phone = o.phone)
		GROUP BY phone ORDER BY last_at DESC LIMIT ?`, since, limit).Scan(&out).Error
	return out, err
}

// Outbox returns the newest outbox messages.
func (d *Dashboard) Outbox(ctx context.Context, limit int) ([]OutboxMessage, error) {
	var msgs []OutboxMessage
	err := d.db.Read.WithContext(ctx).Order("id DESC").Limit(limit).Find(&msgs).Error
	return msgs, err
}

// BlockUser blocks a user until a time (BlockedForever: until unblocked)
// and revokes all their sessions in the same transaction.
func (d *Dashboard) BlockUser(ctx context.Context, userID, until int64, actor string, cl ClientInfo) (int, error) {
	now := toMillis(d.clock.Now())
	if until <= now {
		return 0, errors.New("the block must end in the future")
	}
	var ids []int64
	err := d.db.WriteTx(ctx, func(tx *gorm.DB) error {
		u, err := userByID(tx, userID)
		if err != nil {
			return err
		}
		if err := tx.Model(&User{}).Where("id = ?", userID).Update("blocked_until", until).Error; err != nil {
			return err
		}
		if ids, err = revokeAllSessions(tx, userID, now, RevokeBlocked); err != nil {
			return err
		}
		detail := "blocked until unblocked"
		if until != BlockedForever {
			detail = "blocked until " + fromMillis(until).UTC().Format(time.RFC3339)
		}
		return audit(tx, AuditEntry{At: now, Actor: actor, Type: EventAdminBlock, Phone: u.Phone, UserID: &u.ID,
			IP: cl.IP, UserAgent: truncate(cl.UserAgent, 512), Detail: fmt.Sprintf("%s; %d sessions revoked", detail, len(ids))})
	})
	if err == nil {
		d.sessions.NotifyRevoked(ids...)
	}
	return len(ids), err
}

// UnblockUser lifts a block.
func (d *Dashboard) UnblockUser(ctx context.Context, userID int64, actor string, cl ClientInfo) error {
	now := toMillis(d.clock.Now())
	return d.db.WriteTx(ctx, func(tx *gorm.DB) error {
		u, err := userByID(tx, userID)
		if err != nil {
			return err
		}
		if err := tx.Model(&User{}).Where("id = ?", userID).Update("blocked_until", nil).Error; err != nil {
			return err
		}
		return audit(tx, AuditEntry{At: now, Actor: actor, Type: EventAdminUnblock, Phone: u.Phone, UserID: &u.ID,
			IP: cl.IP, UserAgent: truncate(cl.UserAgent, 512)})
	})
}

// DeleteUser deletes a user: their sessions are revoked (through
// revokeSession, so revocation hooks run), rows that reference the user go
// with it (ON DELETE CASCADE: sessions, and the address book of the contact
// sync), then the photo file is removed.
func (d *Dashboard) DeleteUser(ctx context.Context, userID int64, actor string, cl ClientInfo) (*User, error) {
	now := toMillis(d.clock.Now())
	var u *User
	var ids []int64
	var files []string // uploads (chat files, earlier photos), removed after commit
	err := d.db.WriteTx(ctx, func(tx *gorm.DB) error {
		var err error
		if u, err = userByID(tx, userID); err != nil {
			return err
		}
		ids, err = revokeAllSessions(tx, userID, now, RevokeDeleted)
		if err != nil {
			return err
		}
		if files, err = uploadNames(tx, userID); err != nil {
			return err
		}
		if err := queueMesiboUserDelete(tx, u, now); err != nil {
			return err
		}
		if err := tx.Exec("DELETE FROM users WHERE id = ?", userID).Error; err != nil {
			return err
		}
		return audit(tx, AuditEntry{At: now, Actor: actor, Type: EventAdminDeleteUser, Phone: u.Phone, UserID: &u.ID,
			IP: cl.IP, UserAgent: truncate(cl.UserAgent, 512), Detail: fmt.Sprintf("%d sessions revoked; profile, photo and address book removed", len(ids))})
	})
	if err != nil {
		return nil, err
	}
	d.sessions.NotifyRevoked(ids...)
	if d.photoDir != "" {
		if u.Photo != "" {
			files = append(files, u.Photo)
		}
		for _, name := range files {
			// Base keeps a stored name from reaching outside the directory.
			p := filepath.Join(d.photoDir, filepath.Base(name))
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return u, fmt.Errorf("user deleted, but removing the file %s failed: %w", filepath.Base(name), err)
			}
		}
	}
	return u, nil
}

func userByID(tx *gorm.DB, id int64) (*User, error) {
	var u User
	err := tx.Take(&u, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// AuditFilter selects audit entries.
type AuditFilter struct {
	Phone  string // E.164
	Actor  string // "admin:alice", "api", "system", or "admin" for every admin
	Type   string
	From   int64 // ms, inclusive; 0 = no bound
	To     int64 // ms, exclusive; 0 = no bound
	Before int64 // keyset: entries with id < Before
	Limit  int
}

// Audit returns entries newest first, one keyset page; next is the cursor
// of the next page (0 on the last).
func (d *Dashboard) Audit(ctx context.Context, f AuditFilter) (entries []AuditEntry, next int64, err error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q := d.auditQuery(ctx, f)
	if f.Before > 0 {
		q = q.Where("id < ?", f.Before)
	}
	if err := q.Order("id DESC").Limit(limit + 1).Find(&entries).Error; err != nil {
		return nil, 0, err
	}
	if len(entries) > limit {
		entries = entries[:limit]
		next = entries[limit-1].ID
	}
	return entries, next, nil
}

// EachAudit calls fn for every matching entry, newest first, in batches
// (the CSV export).
func (d *Dashboard) EachAudit(ctx context.Context, f AuditFilter, fn func(AuditEntry) error) error {
	before := int64(0)
	for {
		q := d.auditQuery(ctx, f)
		if before > 0 {
			q = q.Where("id < ?", before)
		}
		var batch []AuditEntry
		if err := q.Order("id DESC").Limit(1000).Find(&batch).Error; err != nil {
			return err
		}
		for _, e := range batch {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(batch) < 1000 {
			return nil
		}
		before = batch[len(batch)-1].ID
	}
}

func (d *Dashboard) auditQuery(ctx context.Context, f AuditFilter) *gorm.DB {
	q := d.db.Read.WithContext(ctx).Model(&AuditEntry{})
	if f.Phone != "" {
		q = q.Where("phone = ?", f.Phone)
	}
	switch {
	case f.Actor == "admin":
		q = q.Where("actor >= 'admin:' AND actor < 'admin;'")
	case f.Actor != "":
		q = q.Where("actor = ?", f.Actor)
	}
	if f.Type != "" {
		q = q.Where("type = ?", f.Type)
	}
	if f.From > 0 {
		q = q.Where("at >= ?", f.From)
	}
	if f.To > 0 {
		q = q.Where("at < ?", f.To)
	}
	return q
}

// AuditTypes lists the event types for the audit filter. It is a fixed
// list: SELECT DISTINCT over the log would read the whole type index (a
// million entries and more) on every page.
func (d *Dashboard) AuditTypes(ctx context.Context) ([]string, error) {
	ts := []string{
		EventCodeRequested, EventCodeRateLimited, EventCodeSent, EventCodeSendFailed, EventCodeVerified, EventCodeFailed,
		EventPhoneLocked, EventUserCreated, EventTokenIssued, EventTokenRevoked,
		EventAdminLogin, EventAdminLoginFailed, EventAdminLogout, EventAdminCreated, EventAdminPasswordSet,
		EventAdminRevokeToken, EventAdminRevokeAll, EventAdminBlock, EventAdminUnblock, EventAdminDeleteUser,
		EventAdminResendCode, EventAdminPasswordFail, EventAdminSessionsRevoked,
	}
	slices.Sort(ts)
	return ts, nil
}

// Totals are the overview's figures.
type Totals struct {
	Users          int64
	SeenToday      int64 // users whose app talked to the server today
	SignedInToday  int64 // users who completed a sign-in today
	ActiveTokens   int64
	CodesSent      int64
	CodesVerified  int64
	CodesFailed    int64
	CodesRequested int64
}

// DayCount is one day of a chart.
type DayCount struct {
	Day   time.Time // UTC midnight
	Count int64
}

// Overview is the overview page's data.
type Overview struct {
	Totals  Totals
	SignUps []DayCount
	Codes   []DayCount
}

// Overview computes the figures of today (UTC) and the 30-day charts.
func (d *Dashboard) Overview(ctx context.Context) (*Overview, error) {
	now := d.clock.Now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	t0 := toMillis(today)
	nowMs := toMillis(now)
	db := d.db.Read.WithContext(ctx)
	var t Totals
	counts := []struct {
		into *int64
		q    string
		args []any
	}{
		{&t.Users, "SELECT COUNT(*) FROM users", nil},
		{&t.SeenToday, "SELECT COUNT(*) FROM users WHERE coalesce(last_seen_at, 0) >= ?", []any{t0}},
		{&t.SignedInToday, "SELECT COUNT(DISTINCT user_id) FROM audit_log WHERE type = ? AND at >= ?", []any{EventTokenIssued, t0}},
		{&t.ActiveTokens, "SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL AND expires_at > ?", []any{nowMs}},
		{&t.CodesRequested, "SELECT COUNT(*) FROM otp_codes WHERE created_at >= ?", []any{t0}},
		{&t.CodesSent, "SELECT COUNT(*) FROM audit_log WHERE type = ? AND at >= ?", []any{EventCodeSent, t0}},
		{&t.CodesVerified, "SELECT COUNT(*) FROM otp_codes WHERE created_at >= ? AND state = 'verified'", []any{t0}},
		{&t.CodesFailed, "SELECT COUNT(*) FROM audit_log WHERE type = ? AND at >= ?", []any{EventCodeFailed, t0}},
	}
	for _, c := range counts {
		if err := db.Raw(c.q, c.args...).Scan(c.into).Error; err != nil {
			return nil, err
		}
	}
	start := today.AddDate(0, 0, -29)
	signUps, err := d.perDay(ctx, "users", "created_at", start)
	if err != nil {
		return nil, err
	}
	codes, err := d.perDay(ctx, "otp_codes", "created_at", start)
	if err != nil {
		return nil, err
	}
	return &Overview{Totals: t, SignUps: signUps, Codes: codes}, nil
}

// perDay counts rows per UTC day from start for 30 days. table and col are
// constants of this file, never input.
func (d *Dashboard) perDay(ctx context.Context, table, col string, start time.Time) ([]DayCount, error) {
	var rows []struct {
		Day int64
		N   int64
	}
	const dayMs = 24 * 3600 * 1000
	err := d.db.Read.WithContext(ctx).Raw("SELECT ("+col+" - ?) / ? AS day, COUNT(*) AS n FROM "+table+
		" WHERE "+col+" >= ? GROUP BY day", toMillis(start), dayMs, toMillis(start)).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]DayCount, 30)
	for i := range out {
		out[i].Day = start.AddDate(0, 0, i)
	}
	for _, r := range rows {
		if r.Day >= 0 && r.Day < 30 {
			out[r.Day].Count = r.N
		}
	}
	return out, nil
}

// AuditAdmin records an admin action that has no transaction of its own.
func (d *Dashboard) AuditAdmin(ctx context.Context, a *Admin, typ, phone string, cl ClientInfo, detail string) error {
	now := toMillis(d.clock.Now())
	return d.db.WriteTx(ctx, func(tx *gorm.DB) error {
		var uid *int64
		if u, err := userByPhone(tx, phone); err == nil {
			uid = &u.ID
		}
		return audit(tx, adminEntry(now, a, typ, phone, uid, cl, detail))
	})
}

// UserIDsByPhone maps the numbers of code rows to user ids (for links).
func (d *Dashboard) UserIDsByPhone(ctx context.Context, rows []CodeRow) (map[string]int64, error) {
	out := map[string]int64{}
	if len(rows) == 0 {
		return out, nil
	}
	seen := map[string]bool{}
	var phones []string
	for _, r := range rows {
		if !seen[r.Phone] {
			seen[r.Phone] = true
			phones = append(phones, r.Phone)
		}
	}
	var us []User
	if err := d.db.Read.WithContext(ctx).Select("id", "phone").Where("phone IN ?", phones).Find(&us).Error; err != nil {
		return nil, err
	}
	for _, u := range us {
		out[u.Phone] = u.ID
	}
	return out, nil
}

// SessionBelongs reports whether a session is one of the user's.
func (d *Dashboard) SessionBelongs(ctx context.Context, userID, sessionID int64) (bool, error) {
	var n int64
	err := d.db.Read.WithContext(ctx).Model(&Session{}).Where("id = ? AND user_id = ?", sessionID, userID).Count(&n).Error
	return n > 0, err
}
