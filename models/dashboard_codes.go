package models

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// CodeRow is a code request with its effective state and delivery.
type CodeRow struct {
	OTPCode
	Effective string // pending, verified, expired, locked, superseded
	Delivery  string // outbox state ("sent", "failed: ...") or a note
	OutboxAt  *int64
	OutboxID  int64 // its message (0: none), whose attempts OutboxDetail shows
}

// codes returns code requests with their delivery, newest first.
func (d *Dashboard) codes(ctx context.Context, where string, args []any, limit int) ([]CodeRow, error) {
	var otps []OTPCode
	if err := d.db.Read.WithContext(ctx).Where(where, args...).Order("id DESC").Limit(limit).Find(&otps).Error; err != nil {
		return nil, err
	}
	return d.codeRows(ctx, otps)
}

// codeRows are code requests with their effective state and delivery.
func (d *Dashboard) codeRows(ctx context.Context, otps []OTPCode) ([]CodeRow, error) {
	now := toMillis(d.clock.Now())
	ids := make([]int64, len(otps))
	guards := map[string]bool{}
	for i := range otps {
		ids[i] = otps[i].ID
		guards[guardKey(otps[i].Phone, otps[i].Network)] = true
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
	if len(guards) > 0 {
		var ps []string
		for p := range guards {
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
		if r.Effective == CodePending && locked[guardKey(o.Phone, o.Network)] {
			r.Effective = "locked"
		}
		switch m, ok := byOTP[o.ID]; {
		case ok:
			r.Delivery = m.State + " via " + m.Channel
			if m.State == OutboxFailed || (m.State == OutboxPending && m.LastError != "") {
				r.Delivery += ": " + truncate(m.LastError, 120)
			}
			r.OutboxAt, r.OutboxID = m.SentAt, m.ID
		case o.HeldReason != "":
			r.Delivery = "held, not sent: " + o.HeldReason
		case o.Channel == "":
			r.Delivery = "not sent (demo-code mode or test number)"
		default:
			r.Delivery = "no message"
		}
		rows[i] = r
	}
	return rows, nil
}

// CodeFilter narrows the codes page: a number prefix ("" for all), only
// verified codes, only codes whose message failed for good, only codes the
// fraud guard held, the channel they were sent by, and a range of creation
// times.
type CodeFilter struct {
	PhonePrefix    string
	Verified       bool
	DeliveryFailed bool
	Held           bool
	Channel        string // "" for any
	From           int64  // ms, inclusive; 0 = no bound
	To             int64  // ms, exclusive; 0 = no bound
}

// where is the filter as a condition on otp_codes, one definition for the
// list, its total and the overview's figures.
func (f CodeFilter) where() (string, []any) {
	where, args := []string{"1 = 1"}, []any{}
	if f.PhonePrefix != "" {
		where, args = append(where, "phone >= ? AND phone < ?"), append(args, f.PhonePrefix, f.PhonePrefix+":")
	}
	if f.Verified {
		where, args = append(where, "state = ?"), append(args, CodeVerified)
	}
	if f.DeliveryFailed { // failed messages are few: outbox_due (state, ...) finds them
		where, args = append(where, "id IN (SELECT otp_id FROM outbox WHERE state = ? AND otp_id IS NOT NULL)"), append(args, OutboxFailed)
	}
	if f.Held {
		where = append(where, "held_reason <> ''")
	}
	if f.Channel != "" {
		where, args = append(where, "channel = ?"), append(args, f.Channel)
	}
	if f.From > 0 {
		where, args = append(where, "created_at >= ?"), append(args, f.From)
	}
	if f.To > 0 {
		where, args = append(where, "created_at < ?"), append(args, f.To)
	}
	return strings.Join(where, " AND "), args
}

// CodesPage returns one keyset page of the filter's code requests, newest
// first, and the cursors of the pages around it.
func (d *Dashboard) CodesPage(ctx context.Context, f CodeFilter, k Keyset, limit int) ([]CodeRow, PageLinks, error) {
	where, args := f.where()
	otps, links, err := keysetPage(func() *gorm.DB { return d.db.Read.WithContext(ctx).Model(&OTPCode{}).Where(where, args...) }, k, limit,
		func(o *OTPCode) int64 { return o.ID })
	if err != nil {
		return nil, links, err
	}
	rows, err := d.codeRows(ctx, otps)
	return rows, links, err
}

// CountCodes counts the code requests of the filter.
func (d *Dashboard) CountCodes(ctx context.Context, f CodeFilter) (int64, error) {
	where, args := f.where()
	var n int64
	err := d.db.Read.WithContext(ctx).Model(&OTPCode{}).Where(where, args...).Count(&n).Error
	return n, err
}

// RefusedRequests are recent code requests refused by the quotas (they
// create no code, only an audit entry), of numbers starting with
// phonePrefix ("" for all): the codes page's filter holds for all its tables.
func (d *Dashboard) RefusedRequests(ctx context.Context, phonePrefix string, limit int) ([]AuditEntry, error) {
	// One query per type, each walking audit_type (type, at) backwards: an
	// IN over both types would let SQLite walk the time index instead and
	// read the whole log when refusals are rare.
	var all []AuditEntry
	for _, typ := range []string{EventCodeRateLimited, EventPhoneLocked} {
		var es []AuditEntry
		q := d.db.Read.WithContext(ctx).Where("type = ?", typ)
		if phonePrefix != "" {
			q = q.Where("phone >= ? AND phone < ?", phonePrefix, phonePrefix+":")
		}
		if err := q.Order("at DESC").Limit(limit).Find(&es).Error; err != nil {
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

// UnverifiedSignUps lists numbers (starting with phonePrefix, "" for all)
// with codes in the last week and no user.
func (d *Dashboard) UnverifiedSignUps(ctx context.Context, phonePrefix string, limit int) ([]Unverified, error) {
	since := toMillis(d.clock.Now().Add(-7 * 24 * time.Hour))
	var out []Unverified
	if phonePrefix != "" { // a range of otp_codes_phone
		err := d.db.Read.WithContext(ctx).Raw(`SELECT phone, COUNT(*) AS requests, MAX(created_at) AS last_at
			FROM `+d.db.indexedBy("otp_codes o", "otp_codes_phone")+` WHERE phone >= ? AND phone < ? AND created_at > ?
			AND NOT EXISTS (SELECT 1 FROM users u WHERE u.phone = o.phone)
			GROUP BY phone ORDER BY last_at DESC LIMIT ?`, phonePrefix, phonePrefix+":", since, limit).Scan(&out).Error
		return out, err
	}
	err := d.db.Read.WithContext(ctx).Raw(`SELECT phone, COUNT(*) AS requests, MAX(created_at) AS last_at
		FROM `+d.db.indexedBy("otp_codes o", "otp_codes_created")+` WHERE created_at > ? AND NOT EXISTS (SELECT 1 FROM users u WHERE u.phone = o.phone)
		GROUP BY phone ORDER BY last_at DESC LIMIT ?`, since, limit).Scan(&out).Error
	return out, err
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
