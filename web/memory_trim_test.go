package web

import "testing"

// Memory is trimmed once when the arrivals fall to a tenth of the busiest
// interval since the last trim, and not again until the load rises and
// falls once more; an idle server is never trimmed.
func TestTrimAfterTheLoadFalls(t *testing.T) {
	var q quietAfterBusy
	steps := []struct {
		arrivals uint64
		trim     bool
	}{
		{0, false}, {0, false}, // idle from the start
		{5000, false}, {9000, false}, {1200, false}, // a burst, still busy
		{900, true},               // a tenth of the busiest
		{900, false}, {95, false}, // the same load, then just above a tenth of it
		{20000, false}, {0, true}, {0, false}, // a second burst, then nothing
	}
	for i, s := range steps {
		if got := q.fell(s.arrivals); got != s.trim {
			t.Errorf("interval %d (%d arrivals): trim %v, want %v", i, s.arrivals, got, s.trim)
		}
	}
}
