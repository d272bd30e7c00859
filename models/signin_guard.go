package models

import (
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The guard of a phone and a network: consecutive wrong codes for the
// number from one network (NetworkKey), across resends, and the lock they
// lead to, for that network only: someone who never sees the code cannot
// lock its owner out from elsewhere. What bounds the guesses at a number
// from all networks together is the tries per code and the codes per
// number (signin_request.go; the README has the arithmetic). Blocked users
// are refused here too. Demo-code mode adds one guard for the whole
// server, since its one code is the same for every number: spreading
// guesses over many numbers must not escape the count.

type phoneGuard struct {
	Phone       string `gorm:"primaryKey"`
	Failures    int
	LockedUntil *int64
	UpdatedAt   int64 `gorm:"autoUpdateTime:false"`
}

func (phoneGuard) TableName() string { return "phone_guards" }

// guardKey is the guard row of a phone (E.164 or email address) and a
// client's network (NetworkKey). Neither holds a space, so keys of two
// pairs never collide.
func guardKey(e164, network string) string { return e164 + " " + network }

// guardKeyOf is the guard row the client's wrong codes for p count on. A
// test number has one guard for all networks, keyed by the number alone:
// its code is fixed and never expires, so a lock over all networks is the
// only bound on the guesses at it.
func (s *SignIn) guardKeyOf(p Phone, cl ClientInfo) string {
	if s.IsTestNumber(p.E164) {
		return p.E164
	}
	return guardKey(p.E164, NetworkKey(cl.IP))
}

// demoGuardKey is the guard row counting wrong codes over all numbers in
// demo-code mode. It cannot collide with a number: those start with "+".
const demoGuardKey = "demo-code:all"

// demoLockFactor: the server-wide demo guard locks after this many times the
// per-phone limit, so that a few people mistyping do not lock a demo out.
const demoLockFactor = 10

// lockPhone takes the locks of a phone's sign-in rules (locks.go): its own,
// and in demo-code mode the server-wide guard's, in that order.
func (s *SignIn) lockPhone(tx *gorm.DB, e164 string) error {
	if err := lockKey(tx, lockPhone, e164); err != nil {
		return err
	}
	if s.cfg.DemoCode != "" {
		return lockKey(tx, lockDemoGuard, demoGuardKey)
	}
	return nil
}

// checkBlocked reads the phone's user (nil: none yet) and refuses a blocked
// one. It runs only after a correct code: before it, a blocked number
// answers as any other, so nobody can probe which accounts are blocked.
//
// The user's row is locked (PostgreSQL) until the sign-in commits, before
// any of its sessions' rows, the order of blocks and deletions: one that
// comes later waits and then revokes the new session; one committed before
// is seen here.
func checkBlocked(tx *gorm.DB, e164 string, now time.Time) (*User, *RefusedError, error) {
	u, err := lockedUser(tx, lockUserRow, "phone = ?", e164)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if u.BlockedAt(now) {
		return u, &RefusedError{Reason: ReasonBlocked, Message: "This account is blocked. Contact the service's support."}, nil
	}
	return u, nil, nil
}

// checkUserAndLock is checkBlocked, then refuses a locked phone, for steps
// after a right code.
func (s *SignIn) checkUserAndLock(tx *gorm.DB, p Phone, cl ClientInfo, now time.Time) (*User, *RefusedError, error) {
	u, r, err := checkBlocked(tx, p.E164, now)
	if r != nil || err != nil {
		return u, r, err
	}
	r, err = s.checkLock(tx, p, cl, now)
	return u, r, err
}

// checkLock refuses a phone from the client's network (or, in demo-code
// mode, the whole server) whose guard is locked.
func (s *SignIn) checkLock(tx *gorm.DB, p Phone, cl ClientInfo, now time.Time) (*RefusedError, error) {
	keys := []string{s.guardKeyOf(p, cl)}
	if s.cfg.DemoCode != "" {
		keys = append(keys, demoGuardKey)
	}
	for _, key := range keys {
		g, err := loadGuard(tx, key, now)
		if err != nil {
			return nil, err
		}
		if g.LockedUntil != nil && *g.LockedUntil > toMillis(now) {
			return lockedRefusal(fromMillis(*g.LockedUntil).Sub(now)), nil
		}
	}
	return nil, nil
}

func lockedRefusal(wait time.Duration) *RefusedError {
	return &RefusedError{Reason: ReasonLocked, RetryAfter: wait,
		Message: fmt.Sprintf("Too many wrong codes. Sign-in for this number from your network is locked; try again in %s.", humanDuration(wait))}
}

// countFailure adds one wrong code to the phone's guard (and to the
// server-wide one in demo-code mode) and locks at the limit. It returns the
// lock's refusal when this failure set it, with the audit entry that
// records the lock (for the caller to write after the count is committed).
func (s *SignIn) countFailure(tx *gorm.DB, p Phone, cl ClientInfo, now time.Time) (*RefusedError, *AuditEntry, error) {
	pol := s.cfg.Policy
	locked, entry, err := s.bumpGuard(tx, s.guardKeyOf(p, cl), p.E164, pol.LockAfter, false, cl, now)
	if err != nil || locked != nil {
		return locked, entry, err
	}
	if s.cfg.DemoCode != "" {
		return s.bumpGuard(tx, demoGuardKey, "", pol.LockAfter*demoLockFactor, true, cl, now)
	}
	return nil, nil, nil
}

// bumpGuard counts one failure on a guard row (of the phone, "" for the
// demo guard). A decaying guard forgets its count after a lock period
// without failures: the server-wide demo guard is never reset by a success
// (an attacker could cause one), so it decays instead.
func (s *SignIn) bumpGuard(tx *gorm.DB, key, phone string, limit int, decays bool, cl ClientInfo, now time.Time) (*RefusedError, *AuditEntry, error) {
	pol := s.cfg.Policy
	nowMs := toMillis(now)
	g, err := loadGuard(tx, key, now)
	if err != nil {
		return nil, nil, err
	}
	if decays && g.UpdatedAt < toMillis(now.Add(-pol.LockFor)) {
		g.Failures = 0
	}
	g.Failures++
	g.UpdatedAt = nowMs
	if g.Failures < limit {
		return nil, nil, saveGuard(tx, g)
	}
	until := toMillis(now.Add(pol.LockFor))
	g.LockedUntil, g.Failures = &until, 0 // the lock is the penalty; afterwards a fresh count starts
	if err := saveGuard(tx, g); err != nil {
		return nil, nil, err
	}
	detail := fmt.Sprintf("%d consecutive wrong codes from network %s", limit, NetworkKey(cl.IP))
	if key == demoGuardKey {
		detail = fmt.Sprintf("demo-code mode: %d wrong codes over all numbers; every number is locked", limit)
	}
	entry := apiEntry(nowMs, EventPhoneLocked, phone, nil, cl, detail)
	return lockedRefusal(pol.LockFor), &entry, nil
}

// clearFailures resets the count of consecutive wrong codes of a phone
// from the client's network after a right one. Other networks' counts
// stay: the owner signing in must not give a guesser elsewhere fresh tries.
func (s *SignIn) clearFailures(tx *gorm.DB, p Phone, cl ClientInfo, now time.Time) error {
	return tx.Model(&phoneGuard{}).Where("phone = ?", s.guardKeyOf(p, cl)).
		Updates(map[string]any{"failures": 0, "updated_at": toMillis(now)}).Error
}

func saveGuard(tx *gorm.DB, g *phoneGuard) error {
	return tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(g).Error
}

func loadGuard(tx *gorm.DB, key string, now time.Time) (*phoneGuard, error) {
	g := phoneGuard{Phone: key}
	err := tx.Where("phone = ?", key).Limit(1).Find(&g).Error
	if g.UpdatedAt == 0 {
		g.UpdatedAt = toMillis(now)
	}
	return &g, err
}
