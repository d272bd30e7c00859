package models

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"gorm.io/gorm"
)

// Two-factor sign-in for administrators: TOTP (RFC 6238, through
// pquerna/otp) and recovery codes. The password step of a sign-in with a
// second factor starts a session that grants nothing (second_factor_due)
// until SecondFactor completes it. The TOTP secrets are sealed with
// AES-GCM under AdminPolicy.SecretKey, bound to their admin's id.

// Second-factor audit event types (actor "admin:<name>").
const (
	EventAdmin2FAEnrolled      = "admin_2fa_enrolled"
	EventAdmin2FADisabled      = "admin_2fa_disabled"
	EventAdminRecoveryCodeUsed = "admin_recovery_code_used"
	EventAdmin2FAPolicy        = "admin_2fa_policy"
)

// Second-factor errors.
var (
	ErrBadSecondFactor = errors.New("the code is wrong, or was used before")
	// ErrSecondFactorOn is an enrolment started while one is in use.
	ErrSecondFactorOn = errors.New("two-factor sign-in is already on")
	// ErrNoEnrolment is a confirmation without an enrolment started.
	ErrNoEnrolment = errors.New("no two-factor enrolment was started")
	// ErrOwnSecondFactorFirst refuses requiring two-factor sign-in of
	// everyone to an owner without it (they would be sent to enrol at once).
	ErrOwnSecondFactorFirst = errors.New("turn on your own two-factor sign-in first")
)

// SecondFactorWindow is how long after the password the second factor may
// be given.
const SecondFactorWindow = 5 * time.Minute

// RecoveryCodeCount is how many recovery codes an enrolment gives.
const RecoveryCodeCount = 10

// totpPeriod is the step of a code, the one authenticator apps use.
const totpPeriod = 30

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// SecondFactorKey derives the key that seals TOTP secrets from the OTP
// key, which a start with another value refuses (secret_check.go), so that
// the secrets stay readable for as long as the database is.
func SecondFactorKey(otpKey []byte) []byte {
	m := hmac.New(sha256.New, otpKey)
	m.Write([]byte("roster: administrators' TOTP secrets"))
	return m.Sum(nil)
}

// HasSecondFactor reports whether the admin signs in with a code too.
func (a *Admin) HasSecondFactor() bool { return len(a.TOTPSecret) > 0 }

func (s *Admins) aead() (cipher.AEAD, error) {
	if len(s.policy.SecretKey) != sha256.Size {
		return nil, errors.New("no key for two-factor secrets")
	}
	block, err := aes.NewCipher(s.policy.SecretKey)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// adminIDBytes binds a sealed secret to its admin: copied to another
// admin's row, it does not open.
func adminIDBytes(id int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(id)) }

func (s *Admins) seal(adminID int64, secret string) ([]byte, error) {
	g, err := s.aead()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, g.NonceSize())
	rand.Read(nonce)
	return g.Seal(nonce, nonce, []byte(secret), adminIDBytes(adminID)), nil
}

func (s *Admins) open(adminID int64, sealed []byte) (string, error) {
	g, err := s.aead()
	if err != nil {
		return "", err
	}
	if len(sealed) < g.NonceSize() {
		return "", errors.New("a sealed two-factor secret is too short")
	}
	plain, err := g.Open(nil, sealed[:g.NonceSize()], sealed[g.NonceSize():], adminIDBytes(adminID))
	if err != nil {
		return "", fmt.Errorf("open the two-factor secret of admin %d: %w", adminID, err)
	}
	return string(plain), nil
}

// totpKey is the enrolment key of a base32 secret: what an authenticator
// app reads (the otpauth:// URI, its QR code).
func totpKey(issuer, name, secret string) (*otp.Key, error) {
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		return nil, err
	}
	return totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: name, Period: totpPeriod, Secret: raw,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

// StartEnrolment gives the admin a new secret to confirm with a first
// code (ConfirmEnrolment); it replaces one shown before. PendingEnrolment
// shows it.
func (s *Admins) StartEnrolment(ctx context.Context, a *Admin, issuer string) error {
	if a.HasSecondFactor() {
		return ErrSecondFactorOn
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: a.Name, Period: totpPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return err
	}
	sealed, err := s.seal(a.ID, key.Secret())
	if err != nil {
		return err
	}
	return s.db.WriteTx(ctx, func(tx *Tx) error {
		res := tx.Exec("UPDATE admins SET totp_pending = ? WHERE id = ? AND totp_secret IS NULL", sealed, a.ID)
		if res.Error == nil && res.RowsAffected == 0 {
			return ErrSecondFactorOn
		}
		return res.Error
	})
}

// PendingEnrolment is the key of the enrolment the admin started and has
// not confirmed, nil when none.
func (s *Admins) PendingEnrolment(a *Admin, issuer string) (*otp.Key, error) {
	if len(a.TOTPPending) == 0 || a.HasSecondFactor() {
		return nil, nil
	}
	secret, err := s.open(a.ID, a.TOTPPending)
	if err != nil {
		return nil, err
	}
	return totpKey(issuer, a.Name, secret)
}

// codeStep is the 30-second step a six-digit code is right for, now or one
// step either side (a phone's clock a little off), 0 when none.
func codeStep(secret, code string, now time.Time) int64 {
	if len(code) != 6 {
		return 0
	}
	step := now.Unix() / totpPeriod
	for _, st := range []int64{step - 1, step, step + 1} {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(st*totpPeriod, 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return st
		}
	}
	return 0
}

// useCode checks an authenticator code of an enrolled admin and marks its
// step used, in one statement: a code is good once, and no code of an
// earlier step is good after it.
func (s *Admins) useCode(ctx context.Context, a *Admin, code string) (bool, error) {
	secret, err := s.open(a.ID, a.TOTPSecret)
	if err != nil {
		return false, err
	}
	step := codeStep(secret, totpInput(code), s.clock.Now())
	if step == 0 {
		return false, nil
	}
	return WriteTx(ctx, s.db, func(tx *Tx) (bool, error) {
		res := tx.Exec("UPDATE admins SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?", step, a.ID, step)
		return res.RowsAffected == 1, res.Error
	})
}

// normalRecoveryCode is a recovery code as hashed: lower case, without
// the spaces and dashes a person may type.
func normalRecoveryCode(code string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, strings.ToLower(code))
}

func hashRecoveryCode(code string) []byte {
	h := sha256.Sum256([]byte(normalRecoveryCode(code)))
	return h[:]
}

// newRecoveryCodes are RecoveryCodeCount codes of 10 base32 characters
// (50 random bits), written xxxxx-xxxxx.
func newRecoveryCodes() []string {
	codes := make([]string, RecoveryCodeCount)
	for i := range codes {
		t := strings.ToLower(rand.Text()[:10])
		codes[i] = t[:5] + "-" + t[5:]
	}
	return codes
}

// useRecoveryCode spends one of the admin's recovery codes, in one
// statement, and reports whether it was one not used before.
func (s *Admins) useRecoveryCode(ctx context.Context, a *Admin, code string) (bool, error) {
	now := toMillis(s.clock.Now())
	return WriteTx(ctx, s.db, func(tx *Tx) (bool, error) {
		res := tx.Exec("UPDATE admin_recovery_codes SET used_at = ? WHERE admin_id = ? AND used_at IS NULL AND code_hash = ?",
			now, a.ID, hashRecoveryCode(code))
		return res.RowsAffected == 1, res.Error
	})
}

// RecoveryCodesLeft counts the admin's unused recovery codes.
func (s *Admins) RecoveryCodesLeft(ctx context.Context, adminID int64) (int64, error) {
	var n int64
	err := s.db.Read.WithContext(ctx).Table("admin_recovery_codes").Where("admin_id = ? AND used_at IS NULL", adminID).Count(&n).Error
	return n, err
}

// totpInput is a code as typed without its spaces: apps show "123 456".
func totpInput(code string) string { return strings.ReplaceAll(strings.TrimSpace(code), " ", "") }

// isTOTPCode tells a code from the authenticator (six digits) from a
// recovery code.
func isTOTPCode(code string) bool {
	code = totpInput(code)
	return len(code) == 6 && strings.Trim(code, "0123456789") == ""
}

// useSecondFactor checks an authenticator code or a recovery code; it
// reports which was used.
func (s *Admins) useSecondFactor(ctx context.Context, a *Admin, code string) (ok, recovery bool, err error) {
	if isTOTPCode(code) {
		ok, err = s.useCode(ctx, a, code)
		return ok, false, err
	}
	if code == "" || len(code) > 64 {
		return false, false, nil
	}
	ok, err = s.useRecoveryCode(ctx, a, code)
	return ok, true, err
}

// ConfirmEnrolment turns two-factor sign-in on with a first code of the
// secret StartEnrolment gave, after the password re-check, and returns the
// recovery codes, to be shown once.
func (s *Admins) ConfirmEnrolment(ctx context.Context, a *Admin, sess *AdminSession, password, code string, cl ClientInfo) ([]string, error) {
	if len(a.TOTPPending) == 0 || a.HasSecondFactor() {
		return nil, ErrNoEnrolment
	}
	if err := s.CheckPassword(ctx, a, sess, password, cl); err != nil {
		return nil, err
	}
	secret, err := s.open(a.ID, a.TOTPPending)
	if err != nil {
		return nil, err
	}
	step := codeStep(secret, totpInput(code), s.clock.Now())
	if step == 0 {
		return nil, ErrBadSecondFactor
	}
	codes := newRecoveryCodes()
	now := toMillis(s.clock.Now())
	err = s.db.WriteTx(ctx, func(tx *Tx) error {
		// The pending secret is compared as bytes: an enrolment started
		// again in another tab since this page was shown is not confirmed.
		res := tx.Exec("UPDATE admins SET totp_secret = totp_pending, totp_pending = NULL, totp_last_step = ? WHERE id = ? AND totp_secret IS NULL AND totp_pending = ?",
			step, a.ID, a.TOTPPending)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNoEnrolment
		}
		if err := replaceRecoveryCodes(tx.DB, a.ID, codes); err != nil {
			return err
		}
		return audit(tx.DB, adminEntry(now, a, EventAdmin2FAEnrolled, "", nil, cl, fmt.Sprintf("authenticator app, %d recovery codes", len(codes))))
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

func replaceRecoveryCodes(tx *gorm.DB, adminID int64, codes []string) error {
	if err := tx.Exec("DELETE FROM admin_recovery_codes WHERE admin_id = ?", adminID).Error; err != nil {
		return err
	}
	for _, c := range codes {
		if err := tx.Exec("INSERT INTO admin_recovery_codes (admin_id, code_hash) VALUES (?, ?)", adminID, hashRecoveryCode(c)).Error; err != nil {
			return err
		}
	}
	return nil
}

// DisableSecondFactor turns the admin's two-factor sign-in off. It takes
// the password and a code (from the app, or a recovery code), counted
// together like the re-check before destructive actions.
func (s *Admins) DisableSecondFactor(ctx context.Context, a *Admin, sess *AdminSession, password, code string, cl ClientInfo) error {
	if !a.HasSecondFactor() {
		return nil
	}
	err := s.recheck(ctx, a, sess, cl, "password or code", func() (bool, error) {
		if !s.passwordRight(a, password) {
			return false, nil
		}
		ok, _, err := s.useSecondFactor(ctx, a, code)
		return ok, err
	})
	if err != nil {
		return err
	}
	now := toMillis(s.clock.Now())
	return s.db.WriteTx(ctx, func(tx *Tx) error {
		if err := clearSecondFactor(tx.DB, a.ID); err != nil {
			return err
		}
		return audit(tx.DB, adminEntry(now, a, EventAdmin2FADisabled, "", nil, cl, "by the admin, with password and code"))
	})
}

// clearSecondFactor removes an admin's key, an enrolment under way and the
// recovery codes.
func clearSecondFactor(tx *gorm.DB, adminID int64) error {
	if err := tx.Exec("UPDATE admins SET totp_secret = NULL, totp_pending = NULL WHERE id = ?", adminID).Error; err != nil {
		return err
	}
	return tx.Exec("DELETE FROM admin_recovery_codes WHERE admin_id = ?", adminID).Error
}

// SecondFactorRequired reports whether owners require two-factor sign-in
// of every admin.
func (s *Admins) SecondFactorRequired(ctx context.Context) (bool, error) {
	var on []int64
	err := s.db.Read.WithContext(ctx).Raw("SELECT require_second_factor FROM admin_policy WHERE id = 1").Scan(&on).Error
	return len(on) == 1 && on[0] != 0, err
}

// SetSecondFactorRequired is an owner's choice, after the password
// re-check, to require two-factor sign-in of every admin (those without
// it are sent to enrol after their password) or not.
func (s *Admins) SetSecondFactorRequired(ctx context.Context, a *Admin, sess *AdminSession, password string, on bool, cl ClientInfo) error {
	if on && !a.HasSecondFactor() {
		return ErrOwnSecondFactorFirst
	}
	if err := s.CheckPassword(ctx, a, sess, password, cl); err != nil {
		return err
	}
	now := toMillis(s.clock.Now())
	value, detail := 0, "two-factor sign-in is optional"
	if on {
		value, detail = 1, "two-factor sign-in is required of every admin"
	}
	return s.db.WriteTx(ctx, func(tx *Tx) error {
		if err := tx.Exec(`INSERT INTO admin_policy (id, require_second_factor) VALUES (1, ?)
			ON CONFLICT (id) DO UPDATE SET require_second_factor = excluded.require_second_factor`, value).Error; err != nil {
			return err
		}
		return audit(tx.DB, adminEntry(now, a, EventAdmin2FAPolicy, "", nil, cl, detail))
	})
}

// RemoveSecondFactorByName turns the named admin's two-factor sign-in off
// from a shell (roster admin disable-2fa), for an admin who lost both
// their authenticator and their recovery codes; a sign-in waiting for a
// code is ended. It reports whether it was on.
func (s *Admins) RemoveSecondFactorByName(ctx context.Context, name, actor string) (bool, error) {
	now := toMillis(s.clock.Now())
	return WriteTx(ctx, s.db, func(tx *Tx) (bool, error) {
		var a Admin
		if err := tx.Where(s.nameIs(), lowerASCII(name)).Take(&a).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return false, ErrNotFound
			}
			return false, err
		}
		if err := clearSecondFactor(tx.DB, a.ID); err != nil {
			return false, err
		}
		if err := tx.Exec("UPDATE admin_sessions SET revoked_at = ? WHERE admin_id = ? AND second_factor_due IS NOT NULL AND revoked_at IS NULL", now, a.ID).Error; err != nil {
			return false, err
		}
		if !a.HasSecondFactor() {
			return false, nil
		}
		return true, audit(tx.DB, auditEntry(now, actor, EventAdmin2FADisabled, "", nil, ClientInfo{}, fmt.Sprintf("admin %q, from the command line", a.Name)))
	})
}
