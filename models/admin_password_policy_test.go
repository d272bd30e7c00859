package models

import (
	"strings"
	"testing"
)

func TestCommonPasswords(t *testing.T) {
	if n := len(commonPasswords()); n < 47_000 {
		t.Fatalf("the list holds %d passwords", n)
	}
	for _, p := range []string{"123qweasdzxc", "QWERTY123456", "dragondragon", "monkey!!2024#", "2024monkey", "aaaaaaaaaaaa", "abababababab"} {
		if !isCommonPassword(p) {
			t.Errorf("%q passes", p)
		}
		if err := checkPassword(p + strings.Repeat("1", max(0, MinPasswordLen-len(p)))); err != ErrCommonPassword {
			t.Errorf("%q: %v", p, err)
		}
	}
	for _, p := range []string{"correct horse battery staple", "wombat saxophone gravel", "Tr0ub4dor&3-river", "dragon fly monkey tail"} {
		if isCommonPassword(p) {
			t.Errorf("%q refused", p)
		}
	}
	if err := checkPassword("short"); err != ErrWeakPassword {
		t.Errorf("a short password: %v", err)
	}
}
