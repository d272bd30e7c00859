package handlers_test

import (
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"roster/web/webtest"
)

// vFlagClassError is why a pattern's character classes do not compile
// under the v flag, which browsers use for the pattern attribute (HTML:
// "compiled with the v flag"): inside [...] the characters ( ) [ ] { } / - \ |
// are syntax and must be escaped (a hyphen only stands between the two
// ends of a range), and doubled punctuators (&&, --, .., !! …) are
// reserved. A pattern that does not compile is ignored: the field is not
// checked at all. "" when the classes are valid.
func vFlagClassError(pattern string) string {
	in := false
	var prevChar bool // the previous token inside a class was a character (a range may start there)
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if !in {
			switch c {
			case '\\':
				i++
			case '[':
				in, prevChar = true, false
				if i+1 < len(pattern) && pattern[i+1] == '^' {
					i++
				}
			}
			continue
		}
		switch {
		case c == '\\':
			i++
			prevChar = true
		case c == ']':
			in = false
		case c == '-':
			if !prevChar || i+1 >= len(pattern) || strings.ContainsRune("()[]{}/-\\|]", rune(pattern[i+1])) {
				return "an unescaped hyphen at " + pattern[i:]
			}
			prevChar = false
		case strings.ContainsRune("()[{}/|", rune(c)):
			return "an unescaped " + string(c) + " in a class"
		case i+1 < len(pattern) && pattern[i+1] == c && strings.ContainsRune("&!#$%*+,.:;<=>?@^`~", rune(c)):
			return "a doubled " + string(c) + " in a class"
		default:
			prevChar = true
		}
	}
	return ""
}

func TestVFlagClassChecker(t *testing.T) {
	for p, ok := range map[string]bool{"[A-Za-z0-9._-]+": false, "[A-Za-z0-9._\\-]+": true, "[0-9]{6}": true, "[a-]": false, "[a..b]": false, "[(]": false, "[\\(]": true} {
		if got := vFlagClassError(p) == ""; got != ok {
			t.Errorf("%q: valid %v, want %v", p, got, ok)
		}
	}
}

// Every pattern on the pages that have one compiles under the v flag, so
// the browser checks the field before it is posted.
func TestPatternsValidUnderTheVFlag(t *testing.T) {
	e := webtest.New(t)
	a := e.AdminLogin("olivia", "owner")
	a.Post("/admin/account/2fa/setup", nil) // the enrolment form, with its code's pattern
	seen := 0
	for _, p := range []string{"/admin/admins", "/admin/account", "/admin/users", "/admin/codes", "/admin/audit", "/admin/groups"} {
		a.Get(p).HTML(t).Find("[pattern]").Each(func(_ int, s *goquery.Selection) {
			pattern, _ := s.Attr("pattern")
			seen++
			if why := vFlagClassError(pattern); why != "" {
				t.Errorf("%s: pattern %q: %s", p, pattern, why)
			}
		})
	}
	if seen < 2 {
		t.Errorf("%d patterns checked", seen)
	}
}
