package models

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// OTPPolicy is the one-time-code policy (its defaults and their reasons:
// DefaultOTPPolicy, and the README's configuration table).
type OTPPolicy struct {
	TTL            time.Duration // how long a code is valid
	MaxAttempts    int           // wrong tries per code
	LockAfter      int           // consecutive failures per phone, across codes, before a lock
	LockFor        time.Duration // lock duration
	ResendCooldown time.Duration // minimum time between two codes for one phone
	PhonePerHour   int
	PhonePerDay    int
	IPPerHour      int
	IPPerDay       int
}

// DefaultOTPPolicy follows NIST SP 800-63B and OWASP ASVS.
func DefaultOTPPolicy() OTPPolicy {
	return OTPPolicy{
		TTL: 5 * time.Minute, MaxAttempts: 5, LockAfter: 10, LockFor: time.Hour,
		ResendCooldown: 30 * time.Second, PhonePerHour: 5, PhonePerDay: 10, IPPerHour: 30, IPPerDay: 200,
	}
}

// Reason says why a sign-in step was refused.
type Reason string

// Refusal reasons.
const (
	ReasonBadCode     Reason = "bad_code"
	ReasonExpired     Reason = "expired"
	ReasonLocked      Reason = "locked"
	ReasonRateLimited Reason = "rate_limited"
	ReasonBlocked     Reason = "blocked"
)

// RefusedError is a sign-in step that was refused by policy. Message is
// written for the person using the app.
type RefusedError struct {
	Reason     Reason
	Message    string
	RetryAfter time.Duration // zero when waiting does not help
}

func (e *RefusedError) Error() string { return string(e.Reason) + ": " + e.Message }

// OTPCode is one issued code. The code itself is never stored.
type OTPCode struct {
	ID         int64
	Phone      string
	CodeMAC    []byte `gorm:"column:code_mac"`
	State      string
	Attempts   int
	IP         string
	UserAgent  string
	AppID      string
	Channel    string
	CreatedAt  int64 `gorm:"autoCreateTime:false"`
	ExpiresAt  int64
	VerifiedAt *int64
}

// Code states.
const (
	CodePending    = "pending"
	CodeVerified   = "verified"
	CodeSuperseded = "superseded"
	CodeExpired    = "expired"
	CodeExhausted  = "exhausted"
)

type phoneGuard struct {
	Phone       string `gorm:"primaryKey"`
	Failures    int
	LockedUntil *int64
	UpdatedAt   int64 `gorm:"autoUpdateTime:false"`
}

func (phoneGuard) TableName() string { return "phone_guards" }

// SignInConfig configures the sign-in flow.
type SignInConfig struct {
	Policy      OTPPolicy
	CodeKey     []byte            // HMAC key for stored codes
	TestNumbers map[string]string // E.164 -> fixed code: never sent, never throttled
	DemoCode    string            // when set, every issued code is this one and nothing is sent
	TokenTTL    time.Duration
	Channel     string                   // delivery channel written to the outbox
	Message     func(code string) string // the text sent to the person
	OnQueued    func()                   // called after a message was queued (wakes the sender)
	Delivery    DeliveryPolicy           // per-address channel choice and SMS protection
	Issuer      TokenIssuer              // nil: Roster issues its own tokens; else e.g. mesibo
	SealKey     []byte                   // encrypts issuer tokens kept for revocation
	AppIDs      []string                 // app ids allowed to sign in (empty = any)
	Hasher      *PhoneHasher             // keyed hash stored on new users (nil: none)
	Events      *Events                  // where a new user's "joined" notice is written (nil: none)
}

// SignIn runs phone sign-in with one-time codes.
type SignIn struct {
	db    *DB
	clock Clock
	cfg   SignInConfig
}

// NewSignIn returns the sign-in service.
func NewSignIn(db *DB, clock Clock, cfg SignInConfig) *SignIn {
	if cfg.OnQueued == nil {
		cfg.OnQueued = func() {}
	}
	return &SignIn{db: db, clock: clock, cfg: cfg}
}

// IsTestNumber reports whether the number is a configured test number.
func (s *SignIn) IsTestNumber(e164 string) bool {
	_, ok := s.cfg.TestNumbers[e164]
	return ok
}

// codeDigits is fixed by the protocol's clients (6-digit entry fields).
const codeDigits = 6

func newCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%0*d", codeDigits, n.Int64()), nil
}

func (s *SignIn) mac(phone, code string) []byte {
	m := hmac.New(sha256.New, s.cfg.CodeKey)
	m.Write([]byte(phone))
	m.Write([]byte{':'})
	m.Write([]byte(code))
	return m.Sum(nil)
}

// RequestCode issues a code for the phone and queues its delivery. The
// answer does not depend on whether the number belongs to a user.
func (s *SignIn) RequestCode(ctx context.Context, p Phone, cl ClientInfo) error {
	if r := s.checkApp(cl.AppID); r != nil {
		return r
	}
	now := s.clock.Now()
	nowMs := toMillis(now)
	if s.IsTestNumber(p.E164) {
		return s.db.Write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return audit(tx, apiEntry(nowMs, EventCodeRequested, p.E164, nil, cl, "test number: fixed code, nothing sent"))
		})
	}
	channel, refused := s.channelFor(p)
	if refused != nil {
		return refused
	}
	queued := false
	err := s.db.Write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if refused, err = s.checkRequest(tx, p, cl, now); err != nil || refused != nil {
			if err == nil && refused.Reason == ReasonRateLimited {
				err = audit(tx, apiEntry(nowMs, EventCodeRateLimited, p.E164, nil, cl, refused.Message))
			}
			return err
		}
		if s.cfg.DemoCode == "" {
			if refused, err = s.checkSMS(tx, p, channel, now); err != nil || refused != nil {
				if err == nil {
					err = audit(tx, apiEntry(nowMs, EventSMSRefused, p.E164, nil, cl, "via "+channel+": "+refused.Message))
				}
				return err
			}
		}
		code := s.cfg.DemoCode
		if code == "" {
			if code, err = newCode(); err != nil {
				return err
			}
		}
		if err := tx.Model(&OTPCode{}).Where("phone = ? AND state = ?", p.E164, CodePending).
			Update("state", CodeSuperseded).Error; err != nil {
			return err
		}
		otp := &OTPCode{Phone: p.E164, CodeMAC: s.mac(p.E164, code), State: CodePending,
			IP: cl.IP, UserAgent: truncate(cl.UserAgent, 512), AppID: truncate(cl.AppID, 256),
			CreatedAt: nowMs, ExpiresAt: toMillis(now.Add(s.cfg.Policy.TTL))}
		detail := "sent via " + channel
		if s.cfg.DemoCode != "" {
			detail = "demo-code mode: nothing sent"
		} else {
			otp.Channel = channel
		}
		if err := tx.Create(otp).Error; err != nil {
			return err
		}
		if s.cfg.DemoCode == "" {
			msg := &OutboxMessage{Channel: channel, Recipient: p.E164, Body: s.message(channel, code), Code: code,
				Kind: OutboxKindOTP, OTPID: &otp.ID, State: OutboxPending, CreatedAt: nowMs, NextAttemptAt: nowMs}
			if err := tx.Create(msg).Error; err != nil {
				return err
			}
			queued = true
		}
		return audit(tx, apiEntry(nowMs, EventCodeRequested, p.E164, nil, cl, detail))
	})
	if err != nil {
		return err
	}
	if refused != nil {
		return refused
	}
	if queued {
		s.cfg.OnQueued()
	}
	return nil
}

// checkRequest applies the lock, the cooldown and the quotas to a code request.
func (s *SignIn) checkRequest(tx *gorm.DB, p Phone, cl ClientInfo, now time.Time) (*RefusedError, error) {
	if r, err := s.checkUserAndLock(tx, p.E164, now); r != nil || err != nil {
		return r, err
	}
	pol := s.cfg.Policy
	var last OTPCode
	err := tx.Where("phone = ?", p.E164).Order("created_at DESC").Limit(1).Find(&last).Error
	if err != nil {
		return nil, err
	}
	if last.ID != 0 {
		if wait := fromMillis(last.CreatedAt).Add(pol.ResendCooldown).Sub(now); wait > 0 {
			return rateLimited(wait, "Please wait %s before asking for another code.", wait), nil
		}
	}
	quotas := []struct {
		column, value string
		limit         int
		window        time.Duration
		message       string
	}{
		{"phone", p.E164, pol.PhonePerHour, time.Hour, "Too many codes were requested for this number. Try again in %s."},
		{"phone", p.E164, pol.PhonePerDay, 24 * time.Hour, "Too many codes were requested for this number today. Try again in %s."},
		{"ip", cl.IP, pol.IPPerHour, time.Hour, "Too many codes were requested from your network. Try again in %s."},
		{"ip", cl.IP, pol.IPPerDay, 24 * time.Hour, "Too many codes were requested from your network today. Try again in %s."},
	}
	for _, q := range quotas {
		if q.value == "" || q.limit <= 0 {
			continue
		}
		wait, err := quotaWait(tx, q.column, q.value, q.limit, q.window, now)
		if err != nil {
			return nil, err
		}
		if wait > 0 {
			return rateLimited(wait, q.message, wait), nil
		}
	}
	return nil, nil
}

// quotaWait returns how long until one more code may be issued under a
// sliding-window quota: zero while fewer than limit codes fall in the window,
// else the time until the limit-th newest leaves it.
func quotaWait(tx *gorm.DB, column, value string, limit int, window time.Duration, now time.Time) (time.Duration, error) {
	var times []int64
	// column is one of two constants above, never input.
	err := tx.Model(&OTPCode{}).Where(column+" = ? AND created_at > ?", value, toMillis(now.Add(-window))).
		Order("created_at DESC").Limit(limit).Pluck("created_at", &times).Error
	if err != nil || len(times) < limit {
		return 0, err
	}
	return max(fromMillis(times[limit-1]).Add(window).Sub(now), time.Second), nil
}

func rateLimited(wait time.Duration, format string, arg time.Duration) *RefusedError {
	return &RefusedError{Reason: ReasonRateLimited, Message: fmt.Sprintf(format, humanDuration(arg)), RetryAfter: wait}
}

// checkUserAndLock refuses blocked users and locked phones.
func (s *SignIn) checkUserAndLock(tx *gorm.DB, e164 string, now time.Time) (*RefusedError, error) {
	u, err := userByPhone(tx, e164)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if u != nil && u.BlockedAt(now) {
		return &RefusedError{Reason: ReasonBlocked, Message: "This account is blocked. Contact the service's support."}, nil
	}
	g, err := loadGuard(tx, e164, now)
	if err != nil {
		return nil, err
	}
	if g.LockedUntil != nil && *g.LockedUntil > toMillis(now) {
		wait := fromMillis(*g.LockedUntil).Sub(now)
		return &RefusedError{Reason: ReasonLocked, RetryAfter: wait,
			Message: fmt.Sprintf("Too many wrong codes. Sign-in for this number is locked; try again in %s.", humanDuration(wait))}, nil
	}
	return nil, nil
}

func saveGuard(tx *gorm.DB, g *phoneGuard) error {
	return tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(g).Error
}

func loadGuard(tx *gorm.DB, e164 string, now time.Time) (*phoneGuard, error) {
	g := phoneGuard{Phone: e164}
	err := tx.Where("phone = ?", e164).Limit(1).Find(&g).Error
	if g.UpdatedAt == 0 {
		g.UpdatedAt = toMillis(now)
	}
	return &g, err
}

// SignInResult is a completed sign-in.
type SignInResult struct {
	User    User
	Session Session
	Token   string
	NewUser bool
	// Replaced are the sessions this sign-in revoked (the device's previous
	// one): tell Sessions.NotifyRevoked after commit so their streams close.
	Replaced []int64
}

// VerifyCode checks a code and, when it is right, signs the phone in: it
// creates the user on first sign-in (with name, if given) and issues a token
// for the device.
func (s *SignIn) VerifyCode(ctx context.Context, p Phone, code, name string, cl ClientInfo) (*SignInResult, error) {
	code = strings.TrimSpace(code)
	if r := s.checkApp(cl.AppID); r != nil {
		return nil, r
	}
	if s.cfg.Issuer != nil {
		return s.verifyWithIssuer(ctx, p, code, name, cl)
	}
	now := s.clock.Now()
	var (
		refused *RefusedError
		result  *SignInResult
	)
	err := s.db.Write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if refused, err = s.checkAnyCode(tx, p, code, cl, now); err != nil || refused != nil {
			return err
		}
		result, err = s.completeSignIn(tx, p, name, cl, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	if refused != nil {
		return nil, refused
	}
	if result.NewUser && s.cfg.Events != nil {
		s.cfg.Events.Wake() // fan-out runs in the background; this request does not wait
	}
	return result, nil
}

// checkAnyCode checks a code against a test number's fixed code or the
// phone's newest issued code.
func (s *SignIn) checkAnyCode(tx *gorm.DB, p Phone, code string, cl ClientInfo, now time.Time) (*RefusedError, error) {
	if fixed, ok := s.cfg.TestNumbers[p.E164]; ok {
		return s.checkTestCode(tx, p, code, fixed, cl, now)
	}
	return s.checkCode(tx, p, code, cl, now)
}

func (s *SignIn) checkTestCode(tx *gorm.DB, p Phone, code, fixed string, cl ClientInfo, now time.Time) (*RefusedError, error) {
	if r, err := s.checkUserAndLock(tx, p.E164, now); r != nil || err != nil {
		return r, err
	}
	if subtle.ConstantTimeCompare([]byte(code), []byte(fixed)) == 1 {
		return nil, nil
	}
	err := audit(tx, apiEntry(toMillis(now), EventCodeFailed, p.E164, nil, cl, "wrong code for a test number"))
	return &RefusedError{Reason: ReasonBadCode, Message: "The code is wrong. Check it and try again."}, err
}

// checkCode verifies a code against the phone's newest one and records the
// outcome (tries, failures, lock) whatever it is.
func (s *SignIn) checkCode(tx *gorm.DB, p Phone, code string, cl ClientInfo, now time.Time) (*RefusedError, error) {
	if r, err := s.checkUserAndLock(tx, p.E164, now); r != nil || err != nil {
		return r, err
	}
	nowMs := toMillis(now)
	var otp OTPCode
	if err := tx.Where("phone = ?", p.E164).Order("id DESC").Limit(1).Find(&otp).Error; err != nil {
		return nil, err
	}
	switch {
	case otp.ID == 0 || otp.State == CodeVerified || otp.State == CodeSuperseded:
		return &RefusedError{Reason: ReasonBadCode, Message: "No code is waiting for this number. Ask for a new code."}, nil
	case otp.State == CodeExhausted:
		return &RefusedError{Reason: ReasonExpired, Message: "This code was entered wrongly too many times. Ask for a new code."}, nil
	case otp.State == CodeExpired || otp.ExpiresAt <= nowMs:
		err := tx.Model(&otp).Update("state", CodeExpired).Error
		return &RefusedError{Reason: ReasonExpired, Message: "This code has expired. Ask for a new code."}, err
	}
	if hmac.Equal(otp.CodeMAC, s.mac(p.E164, code)) {
		if err := tx.Model(&otp).Updates(map[string]any{"state": CodeVerified, "verified_at": nowMs}).Error; err != nil {
			return nil, err
		}
		return nil, tx.Model(&phoneGuard{}).Where("phone = ?", p.E164).
			Updates(map[string]any{"failures": 0, "updated_at": nowMs}).Error
	}
	return s.recordFailure(tx, p, &otp, cl, now)
}

func (s *SignIn) recordFailure(tx *gorm.DB, p Phone, otp *OTPCode, cl ClientInfo, now time.Time) (*RefusedError, error) {
	pol := s.cfg.Policy
	nowMs := toMillis(now)
	otp.Attempts++
	state := otp.State
	if otp.Attempts >= pol.MaxAttempts {
		state = CodeExhausted
	}
	if err := tx.Model(otp).Updates(map[string]any{"attempts": otp.Attempts, "state": state}).Error; err != nil {
		return nil, err
	}
	g, err := loadGuard(tx, p.E164, now)
	if err != nil {
		return nil, err
	}
	g.Failures++
	g.UpdatedAt = nowMs
	if g.Failures >= pol.LockAfter {
		until := toMillis(now.Add(pol.LockFor))
		g.LockedUntil, g.Failures = &until, 0 // the lock is the penalty; afterwards a fresh count starts
		if err := saveGuard(tx, g); err != nil {
			return nil, err
		}
		err := audit(tx, apiEntry(nowMs, EventPhoneLocked, p.E164, nil, cl, fmt.Sprintf("%d consecutive wrong codes", pol.LockAfter)))
		return &RefusedError{Reason: ReasonLocked, RetryAfter: pol.LockFor,
			Message: fmt.Sprintf("Too many wrong codes. Sign-in for this number is locked; try again in %s.", humanDuration(pol.LockFor))}, err
	}
	if err := saveGuard(tx, g); err != nil {
		return nil, err
	}
	left := pol.MaxAttempts - otp.Attempts
	if err := audit(tx, apiEntry(nowMs, EventCodeFailed, p.E164, nil, cl, fmt.Sprintf("try %d of %d", otp.Attempts, pol.MaxAttempts))); err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("The code is wrong. %d more tries with this code.", left)
	if left == 1 {
		msg = "The code is wrong. One more try with this code."
	}
	if left == 0 {
		msg = "The code is wrong, and was tried too often. Ask for a new code."
	}
	return &RefusedError{Reason: ReasonBadCode, Message: msg}, nil
}

// completeSignIn finds or creates the user and issues the device's token.
func (s *SignIn) completeSignIn(tx *gorm.DB, p Phone, name string, cl ClientInfo, now time.Time) (*SignInResult, error) {
	return s.completeSignInWith(tx, p, name, cl, now, nil)
}

// completeSignInWith is completeSignIn with, optionally, a token from the
// issuer instead of a new Roster token.
func (s *SignIn) completeSignInWith(tx *gorm.DB, p Phone, name string, cl ClientInfo, now time.Time, issued *issuedSession) (*SignInResult, error) {
	nowMs := toMillis(now)
	u, err := userByPhone(tx, p.E164)
	created := false
	switch {
	case errors.Is(err, ErrNotFound):
		u = &User{Phone: p.E164, CountryCode: p.CountryCode, Name: CleanText(name, MaxNameLen),
			Discoverable: "everyone", Announce: true, CreatedAt: nowMs, ProfileAt: nowMs, LastSeenAt: &nowMs}
		if s.cfg.Hasher != nil {
			u.PhoneHash = s.cfg.Hasher.Hash(p.E164)
		}
		if err := tx.Create(u).Error; err != nil {
			return nil, err
		}
		created = true
		if s.cfg.Events != nil {
			// Only here, on creation: signing in again is not joining.
			if err := s.cfg.Events.record(tx, u, EventJoined, now); err != nil {
				return nil, err
			}
		}
		if err := audit(tx, apiEntry(nowMs, EventUserCreated, p.E164, &u.ID, cl, "")); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	}
	if issued != nil && u.MesiboUID != issued.uid {
		u.MesiboUID = issued.uid
		if err := tx.Model(&User{}).Where("id = ?", u.ID).Update("mesibo_uid", issued.uid).Error; err != nil {
			return nil, err
		}
	}
	sess, token, replaced, err := createSession(tx, u, cl, now, s.cfg.TokenTTL, issued)
	if err != nil {
		return nil, err
	}
	if err := audit(tx, apiEntry(nowMs, EventCodeVerified, p.E164, &u.ID, cl, "")); err != nil {
		return nil, err
	}
	detail := fmt.Sprintf("session %d, device %q", sess.ID, truncate(cl.Device, 64))
	if err := audit(tx, apiEntry(nowMs, EventTokenIssued, p.E164, &u.ID, cl, detail)); err != nil {
		return nil, err
	}
	return &SignInResult{User: *u, Session: *sess, Token: token, NewUser: created, Replaced: replaced}, nil
}

// humanDuration writes a wait for people: "25 seconds", "4 minutes", "1 hour".
func humanDuration(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d <= time.Minute:
		return plural(max(int64((d+time.Second-1)/time.Second), 1), "second")
	case d <= time.Hour:
		return plural(int64((d+time.Minute-1)/time.Minute), "minute")
	default:
		return plural(int64((d+time.Hour-1)/time.Hour), "hour")
	}
}
