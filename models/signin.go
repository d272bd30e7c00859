package models

import (
	"crypto/hmac"
	"crypto/sha256"
	"time"
)

// Phone sign-in with one-time codes: the policy, the service and its
// refusals. The steps live beside it: signin_request.go (asking for a code),
// signin_verify.go (checking it and signing in), signin_guard.go (the
// per-phone failure lock), signin_issuer.go (sign-in through an outside
// token issuer, mesibo mode) and signin_appids.go (the app-id allow-list);
// delivery rules are in delivery_policy.go, email identities in email.go.

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
	// limit is set on a refusal by a prefix limit of the fraud guard, for
	// the request to remember once committed.
	limit *fraudFull
}

func (e *RefusedError) Error() string { return string(e.Reason) + ": " + e.Message }

// OTPCode is one issued code. The code itself is never stored.
type OTPCode struct {
	ID         int64
	Phone      string
	CodeMAC    []byte `gorm:"column:code_mac"`
	State      string
	Attempts   int
	Network    string // the client's NetworkKey (an IPv6 /64), which the network quotas count
	UserAgent  string
	AppID      string
	Channel    string
	Lang       string // the language of its messages (delivery_messages.go)
	CreatedAt  int64  `gorm:"autoCreateTime:false"`
	ExpiresAt  int64
	VerifiedAt *int64
	// The fraud guard's (signin_fraud.go): the number's prefix and
	// country, and why the code was held instead of sent ("": it was not).
	Prefix     string
	Country    string
	HeldReason string
}

// Code states.
const (
	CodePending    = "pending"
	CodeVerified   = "verified"
	CodeSuperseded = "superseded"
	CodeExpired    = "expired"
	CodeExhausted  = "exhausted"
)

// SignInConfig configures the sign-in flow.
type SignInConfig struct {
	Policy      OTPPolicy
	CodeKey     []byte            // HMAC key for stored codes
	TestNumbers map[string]string // E.164 -> fixed code: never sent; requests unthrottled, wrong codes counted
	DemoCode    string            // when set, every issued code is this one and nothing is sent
	TokenTTL    time.Duration
	Channel     string                   // delivery channel written to the outbox
	Message     func(code string) string // the text sent to the person
	OnQueued    func()                   // called after a message was queued (wakes the sender)
	Delivery    DeliveryPolicy           // per-address channel choice and SMS protection
	Issuer      TokenIssuer              // nil: Roster issues its own tokens; else e.g. mesibo
	AppIDs      []string                 // app ids allowed to sign in (empty = any)
	Hasher      *PhoneHasher             // keyed hash stored on new users (nil: none)
	Events      *Events                  // where a new user's "joined" notice is written (nil: none)
	Sessions    *Sessions                // told of the sessions a sign-in replaces, after commit (nil: none)

	// GroupsPerUser bounds the groups a new user joins at sign-up, added
	// while they were not a user (0: the default of GroupsConfig).
	GroupsPerUser int
	// RecycleAfter: a number proven by code whose account was not seen for
	// this long gets a fresh account, the old one detached (0: never).
	RecycleAfter time.Duration

	// Fraud is the fraud guard's policy (signin_fraud.go).
	Fraud FraudPolicy
}

// SignIn runs phone sign-in with one-time codes.
type SignIn struct {
	db        *DB
	clock     Clock
	cfg       SignInConfig
	languages languageMatcher
	refusals  *fraudRefusals // the fraud guard's full prefixes and countries (signin_fraud_cache.go)
}

// NewSignIn returns the sign-in service.
func NewSignIn(db *DB, clock Clock, cfg SignInConfig) *SignIn {
	if cfg.OnQueued == nil {
		cfg.OnQueued = func() {}
	}
	return &SignIn{db: db, clock: clock, cfg: cfg, languages: newLanguageMatcher(),
		refusals: newFraudRefusals()}
}

// IsTestNumber reports whether the number is a configured test number.
func (s *SignIn) IsTestNumber(e164 string) bool {
	_, ok := s.cfg.TestNumbers[e164]
	return ok
}

func (s *SignIn) mac(phone, code string) []byte {
	m := hmac.New(sha256.New, s.cfg.CodeKey)
	m.Write([]byte(phone))
	m.Write([]byte{':'})
	m.Write([]byte(code))
	return m.Sum(nil)
}
