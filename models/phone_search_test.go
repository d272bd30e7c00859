package models

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseUserSearch(t *testing.T) {
	cases := []struct {
		q, region string
		want      UserSearch
	}{
		{"", "US", UserSearch{Mode: SearchAll}},
		{"(201) 555-0123", "US", UserSearch{Mode: SearchPhone, Prefix: "+12015550123", Exact: true}},
		{"201 555", "US", UserSearch{Mode: SearchPhone, Prefix: "+1201555"}},
		{"1 201 555", "US", UserSearch{Mode: SearchPhone, Prefix: "+1201555"}}, // NANP trunk prefix
		{"+44 7700", "US", UserSearch{Mode: SearchPhone, Prefix: "+447700"}},
		{"0044 7700", "US", UserSearch{Mode: SearchPhone, Prefix: "+447700"}},
		{"06 12 34 56 78", "FR", UserSearch{Mode: SearchPhone, Prefix: "+33612345678", Exact: true}},
		{"06 12", "FR", UserSearch{Mode: SearchPhone, Prefix: "+33612"}},
		{"alice", "US", UserSearch{Mode: SearchName, Prefix: "alice"}},
		{"R2-D2", "US", UserSearch{Mode: SearchName, Prefix: "R2-D2"}},
		{"+", "US", UserSearch{Mode: SearchName, Prefix: "+"}},
	}
	for _, c := range cases {
		if got := ParseUserSearch(c.q, c.region); got != c.want {
			t.Errorf("ParseUserSearch(%q, %s) = %+v, want %+v", c.q, c.region, got, c.want)
		}
	}
}

func FuzzParseUserSearch(f *testing.F) {
	for _, s := range []string{"(201) 555-0123", "+33 6", "alice", "00", "+", "０１２", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		s := ParseUserSearch(q, "US")
		switch s.Mode {
		case SearchPhone:
			if !strings.HasPrefix(s.Prefix, "+") || strings.Trim(s.Prefix[1:], "0123456789") != "" {
				t.Fatalf("phone prefix %q from %q", s.Prefix, q)
			}
		case SearchName:
			if s.Prefix == "" || utf8.RuneCountInString(s.Prefix) > MaxNameLen || !utf8.ValidString(s.Prefix) {
				t.Fatalf("name prefix %q from %q", s.Prefix, q)
			}
		case SearchAll:
			if CleanText(q, MaxNameLen) != "" {
				t.Fatalf("%q read as no search", q)
			}
		}
	})
}
