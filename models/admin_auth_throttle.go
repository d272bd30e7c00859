package models

import (
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The dashboard's sign-in throttle: counters of failed attempts per name,
// per network and per (name, network), reserved before a password or a
// second-factor code is checked and given back on success (admin_auth.go
// and admin_second_factor_signin.go take their turn through takeTurn).

type adminThrottle struct {
	Key         string `gorm:"primaryKey"`
	Failures    int
	WindowStart int64
	LockedUntil *int64
}

func (adminThrottle) TableName() string { return "admin_login_throttle" }

// takeTurn counts one sign-in attempt (a password or a second-factor code)
// on the throttle, in the attempt's write, and returns how long it must
// wait first; an attempt told to wait is audited as refused. A network or
// browser the admin signed in from before does not wait for the name's turn.
func (s *Admins) takeTurn(tx *gorm.DB, name string, keys []throttleKey, cl ClientInfo, knownBrowser, nowMs int64, refused AuditEntry) (time.Duration, error) {
	known, err := s.signedInFrom(tx, name, cl, knownBrowser)
	if err != nil {
		return 0, err
	}
	wait, err := s.reserve(tx, keys, known, nowMs)
	if err != nil || wait == 0 {
		return wait, err
	}
	return wait, auditRepeatable(tx, refused)
}

// throttleKey is one counter of failed sign-ins with its limit; a slowing
// counter has none and spaces the attempts instead.
type throttleKey struct {
	key   string
	limit int
	slows bool
	// The wait this attempt set on a slowing key (0: none) and the one it
	// replaced: a success puts that back (release).
	waitSet    int64
	waitBefore *int64
}

// throttleKeys are the counters one attempt goes to: the name from this
// client's network (the lock an attacker meets), the network (guessing many
// names), and the name from anywhere (a distributed attack: slowed, never
// locked, so that failing from elsewhere does not lock the owner out).
func (s *Admins) throttleKeys(name string, cl ClientInfo) []throttleKey {
	n := strings.ToLower(truncate(name, 64))
	ip := NetworkKey(cl.IP)
	return []throttleKey{
		{key: "nameip:" + n + "|" + ip, limit: s.policy.FailuresPerNameIP},
		{key: "ip:" + ip, limit: s.policy.FailuresPerIP},
		{key: "name:" + n, slows: true},
	}
}

// signedInFrom reports whether the named admin signed in before from the
// client's network (a dashboard session, live or ended, was started from
// it; only the newest are looked at) or from this browser (knownBrowser is
// the admin's id).
func (s *Admins) signedInFrom(tx *gorm.DB, name string, cl ClientInfo, knownBrowser int64) (bool, error) {
	var rows []struct {
		ID int64
		IP string
	}
	err := tx.Raw("SELECT a.id, COALESCE(s.ip, '') AS ip FROM admins a LEFT JOIN admin_sessions s ON s.admin_id = a.id WHERE "+
		s.nameIs()+" ORDER BY s.id DESC LIMIT 100", lowerASCII(name)).Scan(&rows).Error
	network := NetworkKey(cl.IP)
	for _, r := range rows {
		if r.ID == knownBrowser || (r.IP != "" && NetworkKey(r.IP) == network) {
			return true, err
		}
	}
	return false, err
}

// nameDelay is how long the attempt after the tries-th one at a name
// waits: nothing for the free tries, then NameDelay doubling up to
// NameMaxDelay.
func (s *Admins) nameDelay(tries int) time.Duration {
	over := tries - s.policy.NameFreeTries
	if over <= 0 {
		return 0
	}
	d := s.policy.NameDelay
	for i := 1; i < over && d < s.policy.NameMaxDelay; i++ {
		d *= 2
	}
	return min(d, s.policy.NameMaxDelay)
}

// reserve counts one attempt on every key, unless one of them is locked or
// full, or a slowing key's wait has not passed and the client is not known
// (then nothing is counted and it reports how long to wait). The attempt that fills a
// key sets its lock: it is still checked, the next ones are not. An
// attempt on a slowing key sets the time before which the next one waits.
func (s *Admins) reserve(tx *gorm.DB, keys []throttleKey, known bool, now int64) (time.Duration, error) {
	if err := s.lockThrottle(tx, keys, now); err != nil {
		return 0, err
	}
	window := s.policy.Window.Milliseconds()
	rows := make([]adminThrottle, len(keys))
	for i, k := range keys {
		t := adminThrottle{Key: k.key, WindowStart: now}
		if err := tx.Where("key = ?", k.key).Limit(1).Find(&t).Error; err != nil {
			return 0, err
		}
		locked := t.LockedUntil != nil && *t.LockedUntil > now
		if k.slows {
			// WindowStart is the last attempt: the count is forgotten after
			// a quiet Window.
			if t.WindowStart+window < now {
				t.Failures, t.LockedUntil = 0, nil
			} else if locked && !known {
				return time.Duration(*t.LockedUntil-now) * time.Millisecond, nil
			}
			rows[i] = t
			continue
		}
		if locked {
			return time.Duration(*t.LockedUntil-now) * time.Millisecond, nil
		}
		if t.WindowStart+window >= now && t.Failures >= k.limit {
			return time.Duration(t.WindowStart+window-now+1) * time.Millisecond, nil
		}
		if t.WindowStart+window < now {
			t.Failures, t.WindowStart, t.LockedUntil = 0, now, nil
		}
		rows[i] = t
	}
	for i := range keys {
		k, t := &keys[i], &rows[i]
		t.Failures++
		switch {
		case k.slows:
			t.WindowStart = now
			k.waitSet, k.waitBefore = 0, t.LockedUntil
			if d := s.nameDelay(t.Failures); d > 0 {
				until := now + d.Milliseconds()
				t.LockedUntil, k.waitSet = &until, until
			}
		case t.Failures >= k.limit:
			until := now + s.policy.LockFor.Milliseconds()
			t.LockedUntil = &until
		}
		if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(t).Error; err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// lockThrottle locks the attempt's counters on PostgreSQL, where write
// transactions run side by side: reserve reads them, then writes counts
// that follow from what it read, so two attempts at once (on two
// instances) must not both read the same count. Missing counters are made
// first (empty, ON CONFLICT DO NOTHING waits for one another transaction
// is making) so that there is a row to lock; the rows are locked in key
// order, as release writes them, so attempts cannot deadlock. SQLite's
// single writer runs reserve alone and needs none of this.
func (s *Admins) lockThrottle(tx *gorm.DB, keys []throttleKey, now int64) error {
	if !s.db.Postgres() {
		return nil
	}
	sorted := make([]string, len(keys))
	for i, k := range keys {
		sorted[i] = k.key
	}
	slices.Sort(sorted)
	values := make([]string, len(sorted))
	args := make([]any, 0, 2*len(sorted))
	for i, k := range sorted {
		values[i] = "(?, 0, ?)"
		args = append(args, k, now)
	}
	if err := tx.Exec("INSERT INTO admin_login_throttle (key, failures, window_start) VALUES "+strings.Join(values, ", ")+
		" ON CONFLICT (key) DO NOTHING", args...).Error; err != nil {
		return err
	}
	var locked []string
	return tx.Raw("SELECT key FROM admin_login_throttle WHERE key IN ? ORDER BY key FOR UPDATE", sorted).Scan(&locked).Error
}

// release gives back a successful attempt's reservation: the (name,
// network) counter starts over, the others lose one count, and a lock this
// attempt's count set is lifted. A name's wait goes back to what it was
// before this attempt, unless a later attempt has set another since.
//
// Each statement is atomic on its own. The network's and the name's
// counters ("ip:…", "name:…") are written before the (name, network) one
// ("nameip:…"): key order, the order lockThrottle locks them in, so a
// release and a reservation at once cannot deadlock.
func release(tx *gorm.DB, keys []throttleKey) error {
	for _, k := range keys[1:] {
		lifted := "CASE WHEN failures - 1 < ? THEN NULL ELSE locked_until END"
		args := []any{k.limit, k.key}
		if k.slows {
			lifted, args = "CASE WHEN locked_until = ? THEN ? ELSE locked_until END", []any{k.waitSet, k.waitBefore, k.key}
		}
		if err := tx.Exec(`UPDATE admin_login_throttle SET failures = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END,
			locked_until = `+lifted+` WHERE key = ?`, args...).Error; err != nil {
			return err
		}
	}
	return tx.Where("key = ?", keys[0].key).Delete(&adminThrottle{}).Error
}

// clearNameThrottle forgets a name's failures from everywhere (its owner
// has a new password).
func clearNameThrottle(tx *gorm.DB, name string) error {
	n := strings.ToLower(name)
	prefix := "nameip:" + n + "|"
	return tx.Where("key = ? OR substr(key, 1, ?) = ?", "name:"+n, len(prefix), prefix).Delete(&adminThrottle{}).Error
}
