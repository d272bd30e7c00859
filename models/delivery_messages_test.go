package models

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// Every shipped language has its message, with the code first.
func TestEveryShippedLanguageHasItsMessage(t *testing.T) {
	for _, l := range codeLanguages() {
		if msg := codeTemplate(l); !strings.HasPrefix(msg, "{code} ") || !strings.Contains(msg, "{app}") || !strings.Contains(msg, "{minutes}") {
			t.Errorf("%s: %q", l, msg)
		}
	}
	if codeTemplate(DefaultCodeLanguage) == "" || codeLanguages()[0] != DefaultCodeLanguage {
		t.Error("the default language is not the matcher's default")
	}
}

// The language chosen for any preference text is a shipped one, and
// choosing never fails.
func FuzzCodeLanguage(f *testing.F) {
	for _, s := range []string{"fr", "de-CH, en;q=0.5", "zh-Hant-TW", "*", ";q=", "x-private", strings.Repeat("en-", 200), "\xff\xfe"} {
		f.Add(s, "+33612345678")
	}
	f.Add("", "alice@example.org")
	lm := newLanguageMatcher()
	f.Fuzz(func(t *testing.T, pref, e164 string) {
		if !utf8.ValidString(e164) {
			return
		}
		got := lm.choose(pref, Phone{E164: e164})
		if codeTemplate(got) == "" {
			t.Fatalf("choose(%q, %q) = %q, not a shipped language", pref, e164, got)
		}
	})
}
