package models

import (
	"fmt"
	"testing"
)

// The table of full prefixes refuses a key only while it holds that very
// key: filled with far more prefixes than it has slots, it refuses none
// that was never remembered, nor one whose slot another took, and a
// remembered one only until its time.
func TestFraudRefusalsRefuseOnlyTheirOwnKey(t *testing.T) {
	r := newFraudRefusals()
	const remembered = 4 * fraudFullSlots
	for i := range remembered {
		r.remember(fraudFull{key: fmt.Sprintf("+1201%07d", i), reason: FraudPrefixHourly, until: 1000})
	}
	held := 0
	for i := range remembered {
		key := fmt.Sprintf("+1201%07d", i)
		if f, ok := r.refusing(key, 999); ok {
			if f.key != key {
				t.Fatalf("%s refused by the entry of %s", key, f.key)
			}
			held++
		}
		if _, ok := r.refusing(key, 1000); ok {
			t.Fatalf("%s refused at its time", key)
		}
	}
	if held == 0 || held > fraudFullSlots {
		t.Errorf("%d of %d prefixes held in %d slots", held, remembered, fraudFullSlots)
	}
	for i := range remembered {
		if _, ok := r.refusing(fmt.Sprintf("+1202%07d", i), 0); ok {
			t.Fatalf("+1202%07d refused, never remembered", i)
		}
	}
}
