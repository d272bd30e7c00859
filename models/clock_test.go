package models

import (
	"testing"
	"time"
)

// A steady clock runs ahead of a wall clock stepped back by the step, at
// the pace time passes, and follows a step forward (first taking back
// what it runs ahead).
func TestSteadyClockAcrossSteps(t *testing.T) {
	start := time.Unix(1772445600, 0)
	fake := NewFakeClock(start)
	s := NewSteadyClock(fake)
	at := func(want time.Duration) {
		t.Helper()
		if got := s.Now().Sub(start); got != want {
			t.Errorf("steady clock at %v, want %v", got, want)
		}
	}
	at(0)
	fake.Advance(time.Minute)
	at(time.Minute)
	fake.Step(-time.Hour)
	at(time.Minute)
	fake.Advance(10 * time.Second)
	at(time.Minute + 10*time.Second)
	fake.Step(30 * time.Minute) // half of the step back taken back
	at(time.Minute + 10*time.Second)
	fake.Step(time.Hour) // past the steady time: followed
	at(31*time.Minute + 10*time.Second)
}

// A high-water clock gives its clock's time as it is, and remembers the
// latest it gave across a step back.
func TestHighWaterClockRemembersTheLatest(t *testing.T) {
	start := time.Unix(1772445600, 0)
	fake := NewFakeClock(start)
	h := NewHighWaterClock(fake)
	h.Now()
	fake.Step(-time.Hour)
	if got := h.Now(); !got.Equal(start.Add(-time.Hour)) {
		t.Errorf("Now %v, want the clock's %v", got, start.Add(-time.Hour))
	}
	if got := h.Latest(); !got.Equal(start) {
		t.Errorf("Latest %v, want %v", got, start)
	}
}
