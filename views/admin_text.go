package views

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text that clients wrote (names, statuses, device names and types, user
// agents, the names typed at the dashboard's sign-in, replies of the
// services Roster calls) is shown so that it cannot fool an administrator:
// it is isolated from the page's own text (<bdi dir="auto">: a
// right-to-left name does not reorder what follows it), and its invisible
// characters are replaced by a visible marker, so "Admin\u202etroppus"
// reads "Admin[U+202E]troppus", not "Adminsupport", and a name of Hangul
// fillers reads "[U+3164][U+3164]", not "".

// textPart is a run of plain text or one invisible character made visible.
type textPart struct {
	Text   string
	Hidden bool // Text is the marker of an invisible character
	Title  string
}

// userTextParts splits s into plain runs and markers. The zero-width joiner
// and the emoji variation selectors stay as they are after a symbol: they
// glue emoji sequences (👩‍👩‍👧, ❤️) and fool nobody there; anywhere else they
// are marked.
func userTextParts(s string) []textPart {
	var parts []textPart
	start := 0
	prev := rune(-1) // the last character shown as it is; -1 after a marker
	for i, r := range s {
		if !invisible(r) || gluesEmoji(prev, r) {
			prev = r
			continue
		}
		prev = -1
		if i > start {
			parts = append(parts, textPart{Text: s[start:i]})
		}
		code := fmt.Sprintf("U+%04X", r)
		parts = append(parts, textPart{Text: "[" + code + "]", Hidden: true,
			Title: "invisible character " + code + " in text a client sent"})
		_, size := utf8.DecodeRuneInString(s[i:]) // 1 for a byte that is not UTF-8
		start = i + size
	}
	if start < len(s) {
		parts = append(parts, textPart{Text: s[start:]})
	}
	return parts
}

// visibleText is s with its invisible characters marked as userText marks
// them, for attributes (a title), where no markup can isolate it.
func visibleText(s string) string {
	var b strings.Builder
	for _, p := range userTextParts(s) {
		b.WriteString(p.Text)
	}
	return b.String()
}

// invisible tells whether r would show nothing, or change how the text
// around it shows: controls and format characters (the bidi overrides and
// isolates, zero-width characters), line and paragraph separators, the
// default-ignorable characters that fonts draw as nothing (U+3164 HANGUL
// FILLER, U+115F and U+1160, U+FFA0, U+034F COMBINING GRAPHEME JOINER,
// variation selectors), U+2800 BRAILLE PATTERN BLANK, and every space but
// U+0020.
func invisible(r rune) bool {
	return r == utf8.RuneError || r == '\u2800' ||
		unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp,
			unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector) ||
		(unicode.Is(unicode.Zs, r) && r != ' ')
}

// gluesEmoji tells whether r, after prev, is part of an emoji sequence: a
// zero-width joiner or a presentation selector (U+FE0E, U+FE0F) after a
// symbol or skin tone, or a joiner after a presentation selector (❤️‍🔥).
func gluesEmoji(prev, r rune) bool {
	switch r {
	case '\u200d':
		return prev == '\ufe0e' || prev == '\ufe0f' || (prev >= 0 && unicode.In(prev, unicode.So, unicode.Sk))
	case '\ufe0e', '\ufe0f':
		return prev >= 0 && unicode.In(prev, unicode.So, unicode.Sk)
	}
	return false
}
