package models

import (
	"sync"
	"sync/atomic"
	"time"
)

// Clock tells the time. Domain code never calls time.Now directly so that
// tests can move time forward (code expiry, cooldowns, quotas) without sleeping.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }

// FakeClock is a settable clock for tests. The zero value is not useful: use NewFakeClock.
type FakeClock struct {
	mu   sync.Mutex
	now  time.Time
	mono time.Duration // time passed, which Step does not change
}

// NewFakeClock returns a clock stopped at t.
func NewFakeClock(t time.Time) *FakeClock { return &FakeClock{now: t} }

// Now returns the clock's current time.
func (f *FakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Advance moves the clock forward by d: time passes.
func (f *FakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mono += d
	f.mu.Unlock()
}

// Step sets the wall clock by d (back when negative) without time passing,
// as an operator or NTP stepping the system clock does.
func (f *FakeClock) Step(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// Monotonic is the time passed since the clock was made: what the
// monotonic clock measures, which Step does not move.
func (f *FakeClock) Monotonic() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mono
}

// HighWaterClock is a clock's time, as it is, remembering the latest time
// it gave: every reply's `ts` comes from it, so a change stored at no
// earlier a time (changeTime) is never older than a ts a client was given,
// even with the system clock stepped back since.
type HighWaterClock struct {
	clock  Clock
	latest atomic.Int64 // unix nanoseconds
}

// NewHighWaterClock returns clock remembering its latest time.
func NewHighWaterClock(clock Clock) *HighWaterClock { return &HighWaterClock{clock: clock} }

// Now returns the clock's time.
func (h *HighWaterClock) Now() time.Time {
	t := h.clock.Now()
	ns := t.UnixNano()
	for {
		old := h.latest.Load()
		if ns <= old || h.latest.CompareAndSwap(old, ns) {
			return t
		}
	}
}

// Latest is the latest time Now gave.
func (h *HighWaterClock) Latest() time.Time { return time.Unix(0, h.latest.Load()) }

// SteadyClock is a clock for measuring delays: it never goes back, and
// while the wall clock has been stepped back it runs ahead of it by the
// step, at the monotonic clock's pace. A retry due in 30 seconds is then
// due 30 seconds later, not an hour and 30 seconds when the system clock is
// stepped back an hour meanwhile. A step forward is followed (it first
// takes back what it runs ahead). Times it gives are for comparing with
// other times it gave, in one process: after a restart it starts at the
// wall clock again.
type SteadyClock struct {
	clock    Clock
	mu       sync.Mutex
	read     bool
	origin   time.Time     // the first reading, with its monotonic reading
	prevWall time.Time     // the previous reading's wall time
	prevMono time.Duration // and its monotonic time
	ahead    time.Duration // how far the wall clock was stepped back, net
}

// NewSteadyClock returns a steady clock over clock (the system clock, or a
// FakeClock, whose Step it follows as a step of the wall clock).
func NewSteadyClock(clock Clock) *SteadyClock { return &SteadyClock{clock: clock} }

// Now returns the wall clock's time plus how far it was stepped back.
func (s *SteadyClock) Now() time.Time {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	mono := s.monotonic(now)
	wall := now.Round(0) // without its monotonic reading: Sub then compares wall times
	if s.read {
		s.ahead = max(0, s.ahead+(mono-s.prevMono)-wall.Sub(s.prevWall))
	}
	s.read, s.prevWall, s.prevMono = true, wall, mono
	return wall.Add(s.ahead)
}

// monotonic is the monotonic time of a reading: the clock's own when it
// keeps one (FakeClock), else the time passed since the first reading by
// the readings' monotonic clock (time.Now's).
func (s *SteadyClock) monotonic(now time.Time) time.Duration {
	if m, ok := s.clock.(interface{ Monotonic() time.Duration }); ok {
		return m.Monotonic()
	}
	if !s.read {
		s.origin = now
	}
	return now.Sub(s.origin)
}

// Timestamps are stored as INTEGER unix milliseconds: they sort and compare
// exactly in SQL, which text timestamps of varying precision do not.
func toMillis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms) }
