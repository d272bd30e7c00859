package models

import (
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Phone-number text typed into the dashboard: the user search box (a number,
// a prefix or a name) and whole numbers typed by an admin. The scanner of
// digits and punctuation is phoneDigits in phone.go.

// Search modes of the user list.
const (
	SearchAll   = "all"
	SearchPhone = "phone"
	SearchName  = "name"
)

// UserSearch is the search box's text, understood.
type UserSearch struct {
	Mode   string // SearchAll, SearchPhone or SearchName
	Prefix string // phone: an E.164 prefix ("+1201555"); name: the name prefix
	Exact  bool   // phone: Prefix is a whole possible number
}

// ParseUserSearch tells a phone number or prefix (any format; national
// formats read in region) from a name.
func ParseUserSearch(q, region string) UserSearch {
	q = CleanText(q, MaxNameLen) // names are stored cleaned the same way
	if q == "" {
		return UserSearch{Mode: SearchAll}
	}
	digits, intl, ok := phoneish(q)
	if !ok {
		return UserSearch{Mode: SearchName, Prefix: q}
	}
	if intl {
		if e164, ok := wholeNumber("+"+digits, ""); ok {
			return UserSearch{Mode: SearchPhone, Prefix: e164, Exact: true}
		}
		return UserSearch{Mode: SearchPhone, Prefix: "+" + digits}
	}
	region = strings.ToUpper(region)
	if e164, ok := wholeNumber(digits, region); ok {
		return UserSearch{Mode: SearchPhone, Prefix: e164, Exact: true}
	}
	cc := phonenumbers.GetCountryCodeForRegion(region)
	if cc == 0 {
		return UserSearch{Mode: SearchPhone, Prefix: "+" + digits}
	}
	national := strings.TrimPrefix(digits, "0") // the trunk prefix of most countries
	if cc == 1 {
		national = strings.TrimPrefix(digits, "1") // NANP's trunk prefix
	}
	return UserSearch{Mode: SearchPhone, Prefix: "+" + strconv.Itoa(cc) + national}
}

// ParseDashboardPhone reads a whole number typed by an admin: international
// with + or 00, else national in the dashboard's region. (ParsePhone tries
// the protocol's "digits with country code" first, which would read the US
// number "2015550123" as +20.)
func ParseDashboardPhone(raw, region string) (Phone, error) {
	digits, intl, ok := phoneish(strings.TrimSpace(raw))
	if !ok {
		return Phone{}, ErrPhoneFormat
	}
	s, region := digits, strings.ToUpper(region)
	if intl {
		s, region = "+"+digits, ""
	}
	p, _, err := parsePossible(s, region, false)
	return p, err
}

// wholeNumber reports whether s is a whole number with its area code
// ("possible local only" numbers such as a US 7-digit number are prefixes).
func wholeNumber(s, region string) (string, bool) {
	if region == "" {
		region = "ZZ"
	}
	num, err := phonenumbers.Parse(s, region)
	if err != nil || phonenumbers.IsPossibleNumberWithReason(num) != phonenumbers.IS_POSSIBLE {
		return "", false
	}
	return phonenumbers.Format(num, phonenumbers.E164), true
}

// phoneish returns the digits of text that looks like a phone number (digits
// and the punctuation people write in numbers), and whether it is written
// internationally (+ or 00).
func phoneish(q string) (digits string, intl, ok bool) {
	digits, intl, ok = phoneDigits(q)
	if !ok || digits == "" || len(digits) > 20 {
		return "", false, false
	}
	if !intl && strings.HasPrefix(digits, "00") {
		digits, intl = digits[2:], true
	}
	return digits, intl, digits != ""
}
