package views

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Text that users wrote (names, statuses) is shown so that it cannot fool
// an administrator: it is isolated from the page's own text (<bdi
// dir="auto">: a right-to-left name does not reorder what follows it), and
// its invisible control and format characters are replaced by a visible
// marker, so "Admin\u202etroppus" reads "Admin[U+202E]troppus", not
// "Adminsupport".

// textPart is a run of plain text or one invisible character made visible.
type textPart struct {
	Text   string
	Hidden bool // Text is the marker of an invisible character
	Title  string
}

// userTextParts splits s into plain runs and markers. The zero-width joiner
// stays as it is: it glues emoji sequences (👩‍👩‍👧) and fools nobody.
func userTextParts(s string) []textPart {
	var parts []textPart
	start := 0
	for i, r := range s {
		if !invisible(r) {
			continue
		}
		if i > start {
			parts = append(parts, textPart{Text: s[start:i]})
		}
		parts = append(parts, textPart{Text: fmt.Sprintf("[U+%04X]", r), Hidden: true,
			Title: "invisible character U+" + fmt.Sprintf("%04X", r) + " in the user's text"})
		start = i + utf8.RuneLen(r)
	}
	if start < len(s) {
		parts = append(parts, textPart{Text: s[start:]})
	}
	return parts
}

func invisible(r rune) bool {
	if r == '\u200d' {
		return false
	}
	return r == utf8.RuneError || unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) ||
		unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r)
}
