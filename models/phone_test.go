package models

import (
	"errors"
	"testing"
)

func TestParsePhone(t *testing.T) {
	cases := []struct {
		raw, cc, region string
		want            string
		err             error
	}{
		{"12015550123", "", "", "+12015550123", nil},
		{"+1 201-555-0123", "", "", "+12015550123", nil},
		{"(201) 555-0123", "", "US", "+12015550123", nil},
		{"2015550123", "1", "", "+12015550123", nil},
		{"001 201 555 0123", "", "", "+12015550123", nil},
		{"06 12 34 56 78", "33", "", "+33612345678", nil},
		{"06.12.34.56.78", "", "FR", "+33612345678", nil},
		{"33612345678", "33", "", "+33612345678", nil},
		{"07911 123456", "", "GB", "+447911123456", nil},
		{"030 1234567", "", "DE", "+49301234567", nil},
		{"98765 43210", "91", "", "+919876543210", nil},
		{"+55 (11) 91234-5678", "", "", "+5511912345678", nil},
		{"+1 555 555 0100", "", "", "+15555550100", nil},   // possible, not valid
		{"+39 06 6988 4000", "", "", "+390669884000", nil}, // Italian leading zero kept
		{"\u00a0+33\u00a06 12 34 56 78 ", "", "", "+33612345678", nil},
		{"", "", "", "", ErrPhoneEmpty},
		{"   ", "", "", "", ErrPhoneEmpty},
		{"12", "", "", "", ErrPhoneFormat},
		{"call me", "", "", "", ErrPhoneFormat},
		{"+1+2015550123", "", "", "", ErrPhoneFormat},
		{"1201555012345678901", "", "", "", ErrPhoneImpossible},
		{"0612345678", "", "", "", ErrPhoneImpossible}, // national, country unknown: "+0…" is no number
	}
	for _, c := range cases {
		p, err := ParsePhone(c.raw, c.cc, c.region)
		if c.err != nil {
			if err == nil {
				t.Errorf("ParsePhone(%q, %q, %q) = %s, want error %v", c.raw, c.cc, c.region, p.E164, c.err)
			}
			continue
		}
		if err != nil || p.E164 != c.want {
			t.Errorf("ParsePhone(%q, %q, %q) = %q, %v; want %q", c.raw, c.cc, c.region, p.E164, err, c.want)
		}
	}
}

// parseValidPhone is ParsePhone plus CheckValid, the two checks a sign-in
// makes.
func parseValidPhone(raw, callingCode, defaultRegion string) (Phone, error) {
	p, err := ParsePhone(raw, callingCode, defaultRegion)
	if err != nil {
		return Phone{}, err
	}
	return p, p.CheckValid()
}

func TestParseValidPhone(t *testing.T) {
	for _, ok := range []string{"+12015550123", "+33612345678", "+447911123456", "+919876543210"} {
		if _, err := parseValidPhone(ok, "", ""); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"+15555550100", "+447700900123", "+999123456"} {
		if _, err := parseValidPhone(bad, "", ""); err == nil {
			t.Errorf("%s accepted as valid", bad)
		}
	}
	if _, err := parseValidPhone("+15555550100", "", ""); !errors.Is(err, ErrPhoneInvalid) {
		t.Errorf("fictional number: %v, want ErrPhoneInvalid", err)
	}
}

func TestPhoneAccessors(t *testing.T) {
	p, err := ParsePhone("+33 6 12 34 56 78", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if p.Digits() != "33612345678" || p.CountryCode != 33 || p.Region() != "FR" {
		t.Errorf("%+v: digits %s cc %d region %s", p, p.Digits(), p.CountryCode, p.Region())
	}
}

// FuzzParsePhone: any input gives a number in E.164 that parses back to
// itself, or an error; never a panic.
func FuzzParsePhone(f *testing.F) {
	for _, s := range []string{"12015550123", "+1 (201) 555-0123", "0612345678", "00441234", "+", "0", "++1", "٣٣٦١٢٣٤٥٦٧٨", "+1\u00a0201"} {
		f.Add(s, "", "")
		f.Add(s, "33", "")
		f.Add(s, "", "DE")
	}
	f.Fuzz(func(t *testing.T, raw, cc, region string) {
		p, err := ParsePhone(raw, cc, region)
		if err != nil {
			return
		}
		if len(p.E164) < 3 || p.E164[0] != '+' {
			t.Fatalf("ParsePhone(%q) = %q: not E.164", raw, p.E164)
		}
		again, err := ParsePhone(p.E164, "", "")
		if err != nil || again != p {
			t.Fatalf("E.164 %q does not parse back to itself: %+v %v", p.E164, again, err)
		}
	})
}
