package models

import (
	"errors"
	"net/mail"
	"strings"
)

// Email addresses as sign-in identities, accepted when an email channel is
// configured (the delivery policy decides where each code goes).

// maxEmailLen is the longest address SMTP allows in a path (RFC 5321).
const maxEmailLen = 254

// ErrEmailFormat is returned for text that is not a plain email address.
var ErrEmailFormat = errors.New("this is not an email address")

// ParseEmail reads an email address used as a sign-in identity. The result
// is a Phone whose E164 holds the normalized address and whose CountryCode
// is 0. The address is lower-cased, the local part too: mail providers
// treat it without case, and "Victim@x" must not be a second account (or
// escape a block) on the same mailbox. The local part's letters outside
// ASCII keep their case, as SQL's lower() does on both databases
// (migration 0011 folds stored addresses the same way).
//
// The identity column holds E.164 numbers, which always start with '+', or
// addresses, which always contain '@', so the two never collide and every
// per-identity rule (quotas, locks, audit) applies unchanged.
func ParseEmail(raw string) (Phone, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > maxEmailLen || strings.ContainsAny(raw, "<>\" \t\r\n") {
		return Phone{}, ErrEmailFormat
	}
	a, err := mail.ParseAddress(raw)
	if err != nil || a.Name != "" || a.Address != raw {
		return Phone{}, ErrEmailFormat
	}
	at := strings.LastIndexByte(a.Address, '@')
	local, domain := lowerASCII(a.Address[:at]), strings.ToLower(a.Address[at+1:])
	// A leading '+' is legal but would read as an E.164 number here.
	if local == "" || local[0] == '+' || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return Phone{}, ErrEmailFormat
	}
	return Phone{E164: local + "@" + domain}, nil
}

// IsEmail reports whether the identity is an email address.
func (p Phone) IsEmail() bool { return strings.Contains(p.E164, "@") }

// AcceptsEmail reports whether email addresses may sign in.
func (s *SignIn) AcceptsEmail() bool { return s.cfg.Delivery.EmailSignIn }
