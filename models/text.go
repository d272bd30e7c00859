package models

import (
	"strings"
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
