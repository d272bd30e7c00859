package models

import (
	"testing"
	"unicode/utf8"
)

func TestCleanCountry(t *testing.T) {
	for in, want := range map[string]string{
		"FR": "FR", "de": "DE", "uS": "US", "XX": "", "xx": "", "T1": "", "": "", "F": "", "FRA": "",
		"é": "", " F": "", "F\x00": "", "ÉÉ": "",
	} {
		if got := CleanCountry(in); got != want {
			t.Errorf("CleanCountry(%q) = %q, want %q", in, got, want)
		}
	}
}

// Whatever a header or a database holds, a stored country is two upper-case
// ASCII letters or nothing.
func FuzzCleanCountry(f *testing.F) {
	for _, s := range []string{"FR", "xx", "T1", "", "é", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := CleanCountry(s)
		if got == "" {
			return
		}
		if len(got) != 2 || !utf8.ValidString(got) || got == "XX" || got[0] < 'A' || got[0] > 'Z' || got[1] < 'A' || got[1] > 'Z' {
			t.Fatalf("CleanCountry(%q) = %q", s, got)
		}
	})
}
