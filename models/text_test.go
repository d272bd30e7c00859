package models

import (
	"slices"
	"testing"
)

// SplitList serves the protocol's phone lists and the flags' lists alike:
// items trimmed, empty ones dropped, nil for nothing.
func TestSplitList(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{" , ,", nil},
		{"+12015550123", []string{"+12015550123"}},
		{" twilio, smtp ,,webhook ", []string{"twilio", "smtp", "webhook"}},
		{"+1 201 555 0123,\t+33 6 12 34 56 78\n", []string{"+1 201 555 0123", "+33 6 12 34 56 78"}},
	} {
		if got := SplitList(c.in); !slices.Equal(got, c.want) || (c.want == nil) != (got == nil) {
			t.Errorf("SplitList(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
