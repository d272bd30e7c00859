// Package poll is the loop of Roster's background workers (the outbox's
// sender, the push sender, the notices' fan-out): work until there is
// nothing left, then wait for a wake-up, the next tick or the end.
package poll

import (
	"context"
	"time"
)

// Wake is a worker's wake-up call. Wakes made while the worker is busy
// add up to one: it looks for work once more when it is done.
type Wake chan struct{}

// NewWake returns a wake-up call.
func NewWake() Wake { return make(Wake, 1) }

// Send wakes the worker, never waiting.
func (w Wake) Send() {
	select {
	case w <- struct{}{}:
	default:
	}
}

// Run calls drain until it handles nothing (returns 0), then waits for a
// wake, every or the end of ctx, and again; it returns when ctx is done.
// Work that others queue while nobody wakes the worker (another instance,
// a command) is found at the next tick.
func Run(ctx context.Context, every time.Duration, wake Wake, drain func(ctx context.Context) int) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		for ctx.Err() == nil && drain(ctx) > 0 {
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
	}
}
