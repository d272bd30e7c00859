package models

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseContactPhone(t *testing.T) {
	cases := []struct{ raw, region, want string }{
		{"(201) 555-0102", "US", "+12015550102"},
		{"201.555.0102", "US", "+12015550102"},
		{"1 201 555 0102", "US", "+12015550102"},       // NANP trunk prefix
		{"011 33 6 12 34 56 78", "US", "+33612345678"}, // US international prefix
		{"+33 6 12 34 56 78", "US", "+33612345678"},
		{"0033 6 12 34 56 78", "DE", "+33612345678"},
		{"06 12 34 56 78", "FR", "+33612345678"},
		{"06 12 34 56 78", "US", "+10612345678"}, // possible by length in the US: looked up, matches nobody
		{"33612345678", "US", "+33612345678"},    // the protocol's digits with country code
		{"+1 555", "US", ""},
		{"abc", "US", ""},
		{"", "US", ""},
		{"+12015550102", "", "+12015550102"},
		{"2015550102", "", "+2015550102"}, // no region: read as international (Egypt, +20)
	}
	for _, c := range cases {
		if got := ParseContactPhone(c.raw, c.region); got != c.want {
			t.Errorf("ParseContactPhone(%q, %q) = %q, want %q", c.raw, c.region, got, c.want)
		}
	}
}

func TestNormalizerDedupesAndCaches(t *testing.T) {
	n := newNormalizer(3)
	raw := []string{"+12015550102", "(201) 555-0102", "x", "+33612345678", "+12015550103", "+12015550104"}
	for range 2 { // the second round runs from the (cleared and refilled) cache
		got := n.normalize(raw, "US")
		if strings.Join(got, ",") != "+12015550102,+33612345678,+12015550103,+12015550104" {
			t.Fatalf("normalize: %v", got)
		}
	}
	if len(n.cache) > 3 {
		t.Errorf("cache grew past its bound: %d", len(n.cache))
	}
	many := make([]string, 1000) // parsed on several goroutines
	for i := range many {
		many[i] = "+1201555" + string(rune('0'+i%10)) + "1" + string(rune('0'+i/100)) + string(rune('0'+i/10%10))
	}
	if got := newNormalizer(0).normalize(many, "US"); len(got) != 1000 {
		t.Errorf("parallel normalize: %d distinct", len(got))
	}
}

func TestPhoneHasher(t *testing.T) {
	a, b := NewPhoneHasher([]byte("key one")), NewPhoneHasher([]byte("key two"))
	h := a.Hash("+12015550102")
	if len(h) != PhoneHashLen || !bytes.Equal(h, a.Hash("+12015550102")) || bytes.Equal(h, b.Hash("+12015550102")) ||
		bytes.Equal(h, a.Hash("+12015550103")) {
		t.Error("hashes must be keyed, stable and distinct")
	}
}

func FuzzParseContactPhone(f *testing.F) {
	for _, s := range []string{"(201) 555-0102", "+33 6 12 34 56 78", "0033612345678", "011 44 7911 123456", "++1", "00", "+"} {
		f.Add(s, "US")
	}
	f.Fuzz(func(t *testing.T, raw, region string) {
		e := ParseContactPhone(raw, region)
		if e == "" {
			return
		}
		if !strings.HasPrefix(e, "+") || len(e) > 20 || strings.Trim(e[1:], "0123456789") != "" {
			t.Fatalf("%q -> %q is not E.164", raw, e)
		}
		if again := ParseContactPhone(e, region); again != e {
			t.Fatalf("not idempotent: %q -> %q -> %q", raw, e, again)
		}
	})
}
