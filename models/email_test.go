package models

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseEmail(t *testing.T) {
	for in, want := range map[string]string{
		"alice@example.org":                       "alice@example.org",
		"  Alice@Example.ORG ":                    "alice@example.org",
		"Élodie.MARTIN@Example.org":               "Élodie.martin@example.org",
		"a.b+tag@sub.example.co.uk":               "a.b+tag@sub.example.co.uk",
		"alice@":                                  "",
		"@example.org":                            "",
		"alice":                                   "",
		"alice@localhost":                         "",
		"alice@example.org.":                      "",
		"Alice <alice@example.org>":               "",
		"a b@example.org":                         "",
		"alice@example.org, b@c.de":               "",
		"\"quoted\"@example.org":                  "",
		strings.Repeat("a", 250) + "@example.org": "",
	} {
		p, err := ParseEmail(in)
		if want == "" {
			if err == nil {
				t.Errorf("%q accepted as %q", in, p.E164)
			}
			continue
		}
		if err != nil || p.E164 != want || p.CountryCode != 0 || !p.IsEmail() {
			t.Errorf("%q: %+v %v, want %q", in, p, err, want)
		}
	}
}

func FuzzParseEmail(f *testing.F) {
	for _, s := range []string{"alice@example.org", "A@B.C", "x@y", "\x00@a.b", "a@b.c\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseEmail(s)
		if err != nil {
			return
		}
		// An accepted address is one line of valid text, holds one '@',
		// never starts with '+' (so it cannot collide with E.164), and
		// normalizing is idempotent.
		if !utf8.ValidString(p.E164) || strings.ContainsAny(p.E164, "\r\n\x00 <>") || strings.HasPrefix(p.E164, "+") ||
			strings.Count(p.E164, "@") < 1 || len(p.E164) > maxEmailLen {
			t.Fatalf("%q accepted as %q", s, p.E164)
		}
		again, err := ParseEmail(p.E164)
		if err != nil || again != p {
			t.Fatalf("%q: not idempotent: %q then %q (%v)", s, p.E164, again.E164, err)
		}
	})
}
