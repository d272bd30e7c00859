package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The fraud guard's state, in the database so that every instance sees it:
// the conversion watch's figures per country, the countries an
// administrator released, and the kill switch.

// CountryWatch is the conversion watch's view of one country: the codes
// requested and verified in the window (since a release, if later).
type CountryWatch struct {
	Country    string
	Requested  int64
	Verified   int64
	Held       bool   // enough codes, too few verified: new requests are held
	ReleasedAt *int64 // when an administrator last released the country
	ReleasedBy string
}

// Rate is the verified share of the requested codes.
func (w CountryWatch) Rate() float64 {
	if w.Requested == 0 {
		return 0
	}
	return float64(w.Verified) / float64(w.Requested)
}

// watchQuery counts the codes per country in the window; codes older than
// the country's release do not count.
const watchQuery = `SELECT c.country AS country, COUNT(*) AS requested,
	SUM(CASE WHEN c.state = 'verified' THEN 1 ELSE 0 END) AS verified,
	MAX(r.released_at) AS released_at, MAX(r.released_by) AS released_by
	FROM otp_codes c LEFT JOIN fraud_releases r ON r.country = c.country
	WHERE c.created_at > ? AND c.country <> '' AND (r.released_at IS NULL OR c.created_at > r.released_at)`

// watches returns the conversion watch of every country with codes in the
// window, or of the one country named.
func (f FraudPolicy) watches(tx *gorm.DB, country string, now time.Time) ([]CountryWatch, error) {
	q, args := watchQuery, []any{toMillis(now.Add(-f.WatchWindow))}
	if country != "" {
		q, args = q+" AND c.country = ?", append(args, country)
	}
	var rows []CountryWatch
	if err := tx.Raw(q+" GROUP BY c.country ORDER BY requested DESC, c.country", args...).Scan(&rows).Error; err != nil {
		return nil, err
	}
	for i := range rows {
		rows[i].Held = f.WatchWindow > 0 && rows[i].Requested >= int64(max(f.WatchMinCodes, 1)) &&
			rows[i].Rate() < f.WatchMinVerified
	}
	return rows, nil
}

// watch is the conversion watch of one country.
func (f FraudPolicy) watch(tx *gorm.DB, country string, now time.Time) (CountryWatch, error) {
	rows, err := f.watches(tx, country, now)
	if err != nil || len(rows) == 0 {
		return CountryWatch{Country: country}, err
	}
	return rows[0], nil
}

// fraudSetting is one setting changed on the dashboard.
type fraudSetting struct {
	Name      string `gorm:"primaryKey"`
	Value     string
	ChangedAt int64
	ChangedBy string
}

func (fraudSetting) TableName() string { return "fraud_settings" }

// settingSending is the kill switch: "off" holds every code to a number
// that never signed in; absent or "on", codes go out.
const settingSending = "sending"

func sendingOn(tx *gorm.DB) (bool, error) {
	var s fraudSetting
	err := tx.Where("name = ?", settingSending).Limit(1).Find(&s).Error
	return s.Value != "off", err
}

type fraudRelease struct {
	Country    string `gorm:"primaryKey"`
	ReleasedAt int64
	ReleasedBy string
}

func (fraudRelease) TableName() string { return "fraud_releases" }

// Audit events of the fraud guard's dashboard actions.
const (
	EventAdminFraudRelease = "admin_fraud_release"
	EventAdminFraudSending = "admin_fraud_sending"
)

// Fraud is the fraud guard's dashboard side: its figures and the
// administrators' actions on it.
type Fraud struct {
	db     *DB
	clock  Clock
	policy FraudPolicy
}

// NewFraud returns the fraud guard's dashboard service for the policy the
// sign-in applies.
func NewFraud(db *DB, clock Clock, policy FraudPolicy) *Fraud {
	return &Fraud{db: db, clock: clock, policy: policy}
}

// Policy is the policy the figures are judged by.
func (f *Fraud) Policy() FraudPolicy { return f.policy }

// ErrNotHeld: the country's new requests are not held; there is nothing to
// release.
var ErrNotHeld = errors.New("this country's codes are not held")

// Release lets a held country's new requests through: its codes requested
// until now no longer count on the conversion watch, which judges it
// afresh once enough new codes come. Codes held until now stay unsent.
func (f *Fraud) Release(ctx context.Context, a *Admin, cl ClientInfo, country string) error {
	now := f.clock.Now()
	return f.db.WriteTx(ctx, func(tx *Tx) error {
		if err := lockKey(tx.DB, lockFraudCountry, country); err != nil {
			return err
		}
		w, err := f.policy.watch(tx.DB, country, now)
		if err != nil {
			return err
		}
		if !w.Held {
			return ErrNotHeld
		}
		r := fraudRelease{Country: country, ReleasedAt: toMillis(now), ReleasedBy: a.Actor()}
		if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&r).Error; err != nil {
			return err
		}
		detail := fmt.Sprintf("released %s: %d of %d codes verified in the last %s", country, w.Verified, w.Requested,
			humanDuration(f.policy.WatchWindow))
		return audit(tx.DB, adminEntry(toMillis(now), a, EventAdminFraudRelease, "", nil, cl, detail))
	})
}

// SetSending turns the kill switch: off, codes go only to numbers that
// signed in before. It reports whether the setting changed.
func (f *Fraud) SetSending(ctx context.Context, a *Admin, cl ClientInfo, on bool) (bool, error) {
	now := toMillis(f.clock.Now())
	value := "off"
	if on {
		value = "on"
	}
	return WriteTx(ctx, f.db, func(tx *Tx) (bool, error) {
		was, err := sendingOn(tx.DB)
		if err != nil || was == on {
			return false, err
		}
		s := fraudSetting{Name: settingSending, Value: value, ChangedAt: now, ChangedBy: a.Actor()}
		if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&s).Error; err != nil {
			return false, err
		}
		detail := "sending switched off: codes go only to numbers that signed in before"
		if on {
			detail = "sending switched on"
		}
		return true, audit(tx.DB, adminEntry(now, a, EventAdminFraudSending, "", nil, cl, detail))
	})
}
