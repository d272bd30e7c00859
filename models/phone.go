package models

import (
	"errors"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Phone is a parsed phone number.
type Phone struct {
	E164        string // "+12015550123"
	CountryCode int    // 1
}

// Digits is the number as the demo-app protocol writes it: country code and
// subscriber number, no '+'.
func (p Phone) Digits() string { return strings.TrimPrefix(p.E164, "+") }

// Region is the ISO region of the number ("US"), or "" when it has none.
func (p Phone) Region() string {
	num, err := phonenumbers.Parse(p.E164, "")
	if err != nil {
		return ""
	}
	return phonenumbers.GetRegionCodeForNumber(num)
}

// ContactRegion is the region in which national-format numbers of this
// user's address book are read: the number's own region, or, for a number
// in no assigned range (test numbers such as +1 555 01xx), the main region
// of its country code, so that "(555) 010-0003" in a test account's book is
// read as the US number it is.
func (p Phone) ContactRegion() string {
	num, err := phonenumbers.Parse(p.E164, "")
	if err != nil {
		return ""
	}
	if r := phonenumbers.GetRegionCodeForNumber(num); r != "" && r != "ZZ" {
		return r
	}
	if r := phonenumbers.GetRegionCodeForCountryCode(int(num.GetCountryCode())); r != "ZZ" && r != "001" {
		return r
	}
	return ""
}

// Errors of phone parsing. They are safe to show to the person who typed the number.
var (
	ErrPhoneEmpty      = errors.New("no phone number was given")
	ErrPhoneFormat     = errors.New("this is not a phone number")
	ErrPhoneImpossible = errors.New("this phone number has the wrong number of digits for its country")
	ErrPhoneInvalid    = errors.New("this phone number is not in use in its country")
)

// maxPhoneInput bounds the work spent on a single number: no real number,
// with any punctuation, comes near it.
const maxPhoneInput = 64

// ParsePhone reads a number as clients send it and returns it in E.164 if it
// is a possible number (right length for its country).
//
// Accepted forms: "12015550123" (the protocol's digits with country code),
// "+1 201-555-0123", "001 201 555 0123" (international prefix), and national
// forms such as "0612345678" when the country is known: from callingCode
// (the protocol's `cc`, e.g. "33") or defaultRegion (e.g. the uploader's own
// region during contact sync). Spaces, dashes, dots and brackets are ignored.
func ParsePhone(raw, callingCode, defaultRegion string) (Phone, error) {
	s, err := cleanPhone(raw)
	if err != nil {
		return Phone{}, err
	}
	region := regionFor(callingCode, defaultRegion)
	var candidates []string
	switch {
	case strings.HasPrefix(s, "+"):
		candidates = []string{s}
	case strings.HasPrefix(s, "00"):
		candidates = []string{"+" + s[2:]}
	case strings.HasPrefix(s, "0") && region != "":
		candidates = []string{s} // national format with trunk prefix
	case callingCode != "" && region != "" && !strings.HasPrefix(s, callingCode):
		// "2015550123" with cc=1: a national number without trunk prefix.
		candidates = []string{s, "+" + s}
	case callingCode != "" || region == "":
		// The protocol's own form: digits starting with the country code.
		candidates = []string{"+" + s, s}
	default:
		// An address-book entry: national in the uploader's region first.
		candidates = []string{s, "+" + s}
	}
	// A valid reading wins over a merely possible one: "2015550123" from a US
	// address book is the US number, not a possible Egyptian one.
	var possible *Phone
	firstErr := ErrPhoneFormat
	for i, c := range candidates {
		// Validity decides only between readings, and costs as much as the
		// parse itself: skip it when there is one.
		p, valid, err := parsePossible(c, region, len(candidates) > 1)
		if err != nil {
			if i == 0 {
				firstErr = err
			}
			continue
		}
		if valid {
			return p, nil
		}
		if possible == nil {
			possible = &p
		}
	}
	if possible != nil {
		return *possible, nil
	}
	return Phone{}, firstErr
}

// CheckValid returns ErrPhoneInvalid unless the number belongs to an
// assigned range (fictional ranges such as +1 555 01xx are possible, not valid).
func (p Phone) CheckValid() error {
	num, err := phonenumbers.Parse(p.E164, "")
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return ErrPhoneInvalid
	}
	return nil
}

func cleanPhone(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", ErrPhoneEmpty
	}
	if len(raw) > maxPhoneInput {
		return "", ErrPhoneFormat
	}
	digits, plus, ok := phoneDigits(raw)
	if !ok || len(digits) < 3 {
		return "", ErrPhoneFormat
	}
	if plus {
		return "+" + digits, nil
	}
	return digits, nil
}

// phoneDigits reads text written as a phone number: digits, a leading '+',
// and the punctuation people and address books put in numbers. It returns
// the digits and whether a '+' led them; ok is false for anything else.
func phoneDigits(s string) (digits string, plus, ok bool) {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			plus = true
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '/' || r == '\u00a0':
		default:
			return "", false, false
		}
	}
	return b.String(), plus, true
}

func regionFor(callingCode, defaultRegion string) string {
	if callingCode != "" {
		if cc, err := strconv.Atoi(callingCode); err == nil && cc > 0 && cc < 1000 {
			if r := phonenumbers.GetRegionCodeForCountryCode(cc); r != "" && r != "ZZ" && r != "001" {
				return r
			}
		}
	}
	return strings.ToUpper(defaultRegion)
}

// parsePossible parses s and, when checkValid is set, reports whether it is a
// valid number too (else valid is false).
func parsePossible(s, region string, checkValid bool) (Phone, bool, error) {
	if region == "" {
		region = "ZZ"
	}
	num, err := phonenumbers.Parse(s, region)
	if err != nil {
		return Phone{}, false, ErrPhoneFormat
	}
	if num.GetNationalNumber() == 0 {
		return Phone{}, false, ErrPhoneFormat // all zeros: no number, and no canonical E.164
	}
	if !phonenumbers.IsPossibleNumber(num) {
		return Phone{}, false, ErrPhoneImpossible
	}
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	if num.GetItalianLeadingZero() && !isFixedPoint(e164) {
		// Degenerate zeros after the country code format to a string that
		// parses to another number: no canonical form, so no number.
		return Phone{}, false, ErrPhoneFormat
	}
	return Phone{E164: e164, CountryCode: int(num.GetCountryCode())}, checkValid && phonenumbers.IsValidNumber(num), nil
}

// isFixedPoint reports whether an E.164 string parses and formats to itself:
// address-book hashes depend on every number having exactly one spelling.
func isFixedPoint(e164 string) bool {
	num, err := phonenumbers.Parse(e164, "ZZ")
	return err == nil && phonenumbers.Format(num, phonenumbers.E164) == e164
}
