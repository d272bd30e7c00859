package models

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

// Admin roles. A viewer reads; an operator also acts on users; an owner
// also manages admins.
const (
	RoleOwner    = "owner"
	RoleOperator = "operator"
	RoleViewer   = "viewer"
)

// Admin audit event types (actor "admin:<name>").
const (
	EventAdminLogin           = "admin_login"
	EventAdminLoginFailed     = "admin_login_failed"
	EventAdminLogout          = "admin_logout"
	EventAdminCreated         = "admin_created"
	EventAdminPasswordSet     = "admin_password_reset"
	EventAdminRevokeToken     = "admin_revoke_session"
	EventAdminRevokeAll       = "admin_revoke_all"
	EventAdminBlock           = "admin_block"
	EventAdminUnblock         = "admin_unblock"
	EventAdminDeleteUser      = "admin_delete_user"
	EventAdminResendCode      = "admin_resend_code"
	EventAdminPasswordFail    = "admin_password_recheck_failed"
	EventAdminSessionsRevoked = "admin_sessions_revoked"
)

// Admin is a dashboard account.
type Admin struct {
	ID           int64
	Name         string
	PasswordHash string
	Role         string
	CreatedAt    int64 `gorm:"autoCreateTime:false"`
	DisabledAt   *int64
	// Two-factor sign-in (admin_second_factor.go): the sealed TOTP secret
	// (nil: off), one shown for enrolment and not yet confirmed, and the
	// last 30-second step a code was used in.
	TOTPSecret   []byte `gorm:"column:totp_secret"`
	TOTPPending  []byte `gorm:"column:totp_pending"`
	TOTPLastStep int64  `gorm:"column:totp_last_step"`
}

// CanWrite reports whether the admin may change anything.
func (a *Admin) CanWrite() bool { return a.Role == RoleOwner || a.Role == RoleOperator }

// Actor is how the admin appears in the audit log.
func (a *Admin) Actor() string { return "admin:" + a.Name }

// AdminPolicy holds the session timeouts and the login throttle.
type AdminPolicy struct {
	IdleTimeout     time.Duration
	AbsoluteTimeout time.Duration
	// Failed logins within Window before a lock, per (name, client
	// network) and per client network.
	FailuresPerNameIP int
	FailuresPerIP     int
	Window            time.Duration
	LockFor           time.Duration
	// A name is never locked from everywhere (anyone could lock the owner
	// out): it is slowed down. After NameFreeTries attempts at it from any
	// network with no quiet Window between them and no success to give
	// them back, each further attempt waits NameDelay, doubled with every
	// attempt up to NameMaxDelay, after the one before it. A network or a
	// browser that signed in as the admin before does not wait.
	NameFreeTries int
	NameDelay     time.Duration
	NameMaxDelay  time.Duration
	BcryptCost    int
	// SecretKey seals the administrators' TOTP secrets (SecondFactorKey);
	// without it, two-factor enrolment and sign-in fail.
	SecretKey []byte
}

// DefaultAdminPolicy: 30 min idle, 12 h absolute; 5 failures per (name,
// network) or 20 per network in 15 minutes lock that key for 15 minutes;
// a name from everywhere gets 5 free tries, then waits of 1 s doubling up
// to 1 minute (README: the arithmetic).
func DefaultAdminPolicy() AdminPolicy {
	return AdminPolicy{IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 12 * time.Hour,
		FailuresPerNameIP: 5, FailuresPerIP: 20, Window: 15 * time.Minute, LockFor: 15 * time.Minute,
		NameFreeTries: 5, NameDelay: time.Second, NameMaxDelay: time.Minute,
		BcryptCost: bcrypt.DefaultCost}
}

// Admins manages admin accounts and their sessions.
type Admins struct {
	db     *DB
	clock  Clock
	policy AdminPolicy
	// dummyHash is compared against when the name is unknown, so that a
	// wrong name costs the same time as a wrong password.
	dummyHash []byte
}

// NewAdmins returns the admin store.
func NewAdmins(db *DB, clock Clock, policy AdminPolicy) *Admins {
	h, _ := bcrypt.GenerateFromPassword([]byte("not a password"), policy.BcryptCost)
	return &Admins{db: db, clock: clock, policy: policy, dummyHash: h}
}

// Admin errors.
var (
	ErrBadCredentials = errors.New("the name or the password is wrong")
	ErrLoginThrottled = errors.New("too many failed sign-ins; try again later")
	ErrLoginFormUsed  = errors.New("the sign-in form was posted before or has expired")
	ErrAdminExists    = errors.New("an admin with this name already exists")
	ErrWeakPassword   = errors.New("the password must be at least 12 characters")
	ErrBadRole        = errors.New("the role must be owner, operator or viewer")
	ErrBadAdminName   = errors.New("the name must be 1 to 64 letters, digits, dots, dashes or underscores")
)

// GeneratePassword returns a random password: crypto/rand's Text, 26
// letters and digits (130 bits). Only its bcrypt hash is kept.
func GeneratePassword() string { return rand.Text() }

func validAdminName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// CheckAdminInput validates a new admin's name and role (the CLI checks
// before it opens the database).
func CheckAdminInput(name, role string) error {
	if !validAdminName(name) {
		return ErrBadAdminName
	}
	if !validRole(role) {
		return ErrBadRole
	}
	return nil
}

func validRole(r string) bool { return r == RoleOwner || r == RoleOperator || r == RoleViewer }

// Create adds an admin; cl is the client of the admin who does it (empty
// from the command line).
func (s *Admins) Create(ctx context.Context, name, role, password, actor string, cl ClientInfo) (*Admin, error) {
	if !validAdminName(name) {
		return nil, ErrBadAdminName
	}
	if !validRole(role) {
		return nil, ErrBadRole
	}
	if err := checkPassword(password); err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.policy.BcryptCost)
	if err != nil {
		return nil, err
	}
	now := toMillis(s.clock.Now())
	return WriteTx(ctx, s.db, func(tx *Tx) (*Admin, error) {
		a := &Admin{Name: name, PasswordHash: string(hash), Role: role, CreatedAt: now}
		if err := tx.Create(a).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return nil, ErrAdminExists
			}
			return nil, err
		}
		return a, audit(tx.DB, auditEntry(now, actor, EventAdminCreated, "", nil, cl, fmt.Sprintf("admin %q, role %s", name, role)))
	})
}

// ResetPassword sets a new password and ends the admin's sessions; cl is
// the client of the admin who does it (empty from the command line).
func (s *Admins) ResetPassword(ctx context.Context, name, password, actor string, cl ClientInfo) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.policy.BcryptCost)
	if err != nil {
		return err
	}
	now := toMillis(s.clock.Now())
	return s.db.WriteTx(ctx, func(tx *Tx) error {
		var a Admin
		if err := tx.Where(s.nameIs(), lowerASCII(name)).Take(&a).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrNotFound
			}
			return err
		}
		if err := tx.Model(&a).Update("password_hash", string(hash)).Error; err != nil {
			return err
		}
		if err := tx.Model(&AdminSession{}).Where("admin_id = ? AND revoked_at IS NULL", a.ID).Update("revoked_at", now).Error; err != nil {
			return err
		}
		// The throttle of this name is cleared: its owner has a new password.
		if err := clearNameThrottle(tx.DB, a.Name); err != nil {
			return err
		}
		return audit(tx.DB, auditEntry(now, actor, EventAdminPasswordSet, "", nil, cl, fmt.Sprintf("admin %q", a.Name)))
	})
}

// DefaultOwnerName is the first owner's name when none is chosen.
const DefaultOwnerName = "admin"

// EnsureOwner creates the owner (named name, or DefaultOwnerName) when no
// admin exists. The password is the given one, or a generated one returned
// for printing once.
func (s *Admins) EnsureOwner(ctx context.Context, name, password string) (created bool, generated string, err error) {
	if name == "" {
		name = DefaultOwnerName
	}
	if !validAdminName(name) {
		return false, "", ErrBadAdminName
	}
	var n int64
	if err := s.db.Read.WithContext(ctx).Model(&Admin{}).Count(&n).Error; err != nil {
		return false, "", err
	}
	if n > 0 {
		return false, "", nil
	}
	if password == "" {
		password = GeneratePassword()
		generated = password
	}
	if _, err := s.Create(ctx, name, RoleOwner, password, ActorSystem, ClientInfo{}); err != nil {
		if errors.Is(err, ErrAdminExists) { // another instance won the race
			return false, "", nil
		}
		return false, "", err
	}
	return true, generated, nil
}

// nameIs is the condition that finds an admin by name whatever its case,
// for the argument lowerASCII(name): SQLite's column is NOCASE (its unique
// index serves "="); PostgreSQL's is "C", with the unique index
// admins_name_nocase on lower(name). The name is folded in Go, not by
// lower(?), whose parameter would fold by the database's own locale.
func (s *Admins) nameIs() string {
	return s.db.SQL("name = ?", "lower(name) = ?")
}

// ByID returns an admin.
func (s *Admins) ByID(ctx context.Context, id int64) (*Admin, error) {
	var a Admin
	err := s.db.Read.WithContext(ctx).Take(&a, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	return &a, err
}

// MaxRechecks is how many wrong passwords a session may give at the
// re-check before destructive actions; the last one ends the session.
const MaxRechecks = 3

// CheckPassword is the re-check before a destructive action: it compares a
// password with the admin's, in constant time; for an admin with two-factor
// sign-in, a code from their authenticator app (not used before) is taken
// as the password is. The attempt is counted on the session before bcrypt
// runs (in one statement, so parallel guesses cannot all be checked), a
// failure is audited, and the MaxRechecks-th failure ends the session:
// ErrAdminSessionEnded. A right password clears the count.
func (s *Admins) CheckPassword(ctx context.Context, a *Admin, sess *AdminSession, password string, cl ClientInfo) error {
	return s.recheck(ctx, a, sess, cl, "password", func() (bool, error) {
		if a.HasSecondFactor() && isTOTPCode(password) {
			return s.useCode(ctx, a, password)
		}
		return s.passwordRight(a, password), nil
	})
}

// passwordRight compares a password with the admin's hash.
func (s *Admins) passwordRight(a *Admin, password string) bool {
	return bcrypt.CompareHashAndPassword([]byte(a.PasswordHash), []byte(password)) == nil
}

// recheck counts an attempt at the re-check on the session, runs check,
// and clears the count when it passes or audits the failure (what names
// what was wrong) and ends the session at the MaxRechecks-th.
func (s *Admins) recheck(ctx context.Context, a *Admin, sess *AdminSession, cl ClientInfo, what string, check func() (bool, error)) error {
	now := toMillis(s.clock.Now())
	// The count is committed before the check runs, in a transaction of its own.
	failures, err := WriteTx(ctx, s.db, func(tx *Tx) ([]int, error) {
		var failures []int
		err := tx.Raw(`UPDATE admin_sessions SET recheck_failures = recheck_failures + 1
			WHERE id = ? AND revoked_at IS NULL RETURNING recheck_failures`, sess.ID).Scan(&failures).Error
		return failures, err
	})
	if err != nil {
		return err
	}
	if len(failures) == 0 || failures[0] > MaxRechecks {
		return ErrAdminSessionEnded // revoked, or already out of tries
	}
	passed, err := check()
	if err != nil {
		return err
	}
	if passed {
		return s.db.WriteTx(ctx, func(tx *Tx) error {
			return tx.Exec("UPDATE admin_sessions SET recheck_failures = 0 WHERE id = ?", sess.ID).Error
		})
	}
	ended := failures[0] == MaxRechecks
	err = s.db.WriteTx(ctx, func(tx *Tx) error {
		detail := fmt.Sprintf("%s re-check failed (%d of %d)", what, failures[0], MaxRechecks)
		if ended {
			detail += "; session ended"
			if err := tx.Exec("UPDATE admin_sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", now, sess.ID).Error; err != nil {
				return err
			}
		}
		return audit(tx.DB, adminEntry(now, a, EventAdminPasswordFail, "", nil, cl, detail))
	})
	if err != nil {
		return err
	}
	if ended {
		return ErrAdminSessionEnded
	}
	return ErrBadCredentials
}

// adminEntry is an entry of a signed-in admin's action.
func adminEntry(at int64, a *Admin, typ, phone string, userID *int64, cl ClientInfo, detail string) AuditEntry {
	return auditEntry(at, a.Actor(), typ, phone, userID, cl, detail)
}
