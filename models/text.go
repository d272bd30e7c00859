package models

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Profile text limits, in characters.
const (
	MaxNameLen   = 64
	MaxStatusLen = 256
)

// CleanText makes user-supplied text safe to store and show: valid UTF-8,
// no control characters, trimmed, at most maxRunes characters.
func CleanText(s string, maxRunes int) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > maxRunes {
		s = string([]rune(s)[:maxRunes])
		s = strings.TrimSpace(s)
	}
	return s
}

// humanDuration writes a wait for people: "25 seconds", "4 minutes", "1 hour".
func humanDuration(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d <= time.Minute:
		return plural(max(int64((d+time.Second-1)/time.Second), 1), "second")
	case d <= time.Hour:
		return plural(int64((d+time.Minute-1)/time.Minute), "minute")
	default:
		return plural(int64((d+time.Hour-1)/time.Hour), "hour")
	}
}

// SplitList splits a comma-separated list (the protocol's phone numbers, a
// flag's values) into its items, trimmed, without empty ones.
func SplitList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
