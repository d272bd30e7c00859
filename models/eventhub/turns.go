package eventhub

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// A change told to a large group wakes a thousand streams at once. Sending
// all at once, their reads and writes took both cores of a 2-core machine
// for a tenth of a second, and a request arriving meanwhile (a sign-in)
// queued behind them for the CPU. So streams take turns to read and send:
// at most half the cores' worth at once (one on two cores), in the order
// they asked; and, paced (New: when the database is in this process),
// they send in bursts of sendBurst, each followed by a pause of sendPause
// in which no turn starts, so that sending takes at most a fifth of those
// cores and a request arriving finds the CPU as idle as it was. One turn at a time with no pause, a sign-in during a 1,000-member
// group's fan-out took 2.0-2.3 ms against 1.1-1.2 idle (at the client; the
// server's own handling 0.7-0.9 against 0.6-0.9: the wait was for the CPU
// before and after it); with the pauses 1.0 ms against 1.1, and the
// 1,000th stream had the change after 160-167 ms instead of 68-79
// (groupbench --fanout-only --rounds 20 --server-times).
//
// A stream whose client stopped reading blocks in its write until the
// write deadline; it must not hold up the others that long, so a turn
// is given back by itself after turnStall, whether or not the send ended.
const (
	turnStall = 20 * time.Millisecond
	sendBurst = 1 * time.Millisecond
	sendPause = 4 * time.Millisecond
)

// turns is a semaphore of send turns; waiters are served in order.
type turns struct {
	slots        chan struct{}
	stall        time.Duration
	burst, pause time.Duration
	mu           sync.Mutex // held while a turn waits out a pause
	burstStart   time.Time
}

func newTurns(n int, stall, burst, pause time.Duration) *turns {
	return &turns{slots: make(chan struct{}, max(1, n)), stall: stall, burst: burst, pause: pause}
}

// take waits for a turn (or the end of ctx) and returns the function that
// gives it back; the turn is given back after t.stall at the latest. A
// turn that would start after the current burst, within its pause, waits
// for the pause to end and starts the next burst; one asked after the
// pause starts a burst at once.
func (t *turns) take(ctx context.Context) (done func(), err error) {
	select {
	case t.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := t.waitForBurst(ctx); err != nil {
		<-t.slots
		return nil, err
	}
	var once sync.Once
	give := func() { once.Do(func() { <-t.slots }) }
	timer := time.AfterFunc(t.stall, give)
	return func() {
		timer.Stop()
		give()
	}, nil
}

// waitForBurst waits, if the current burst is over, for its pause to end,
// and starts the next burst.
func (t *turns) waitForBurst(ctx context.Context) error {
	if t.pause == 0 { // not paced
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	if now.Sub(t.burstStart) < t.burst {
		return nil
	}
	if wait := t.burstStart.Add(t.burst + t.pause).Sub(now); wait > 0 {
		timer := time.NewTimer(wait)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	t.burstStart = time.Now()
	return nil
}

// sendTurns is how many streams send at once: half the cores the Go
// runtime uses, at least one.
func sendTurns() int { return max(1, runtime.GOMAXPROCS(0)/2) }
