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
// they asked, and a request finds a core free; a thousand streams are
// still served in about a tenth of a second.
//
// A stream whose client stopped reading blocks in its write until the
// write deadline; it must not hold up the others that long, so a turn
// is given back by itself after turnStall, whether or not the send ended.
const turnStall = 20 * time.Millisecond

// turns is a semaphore of send turns; waiters are served in order.
type turns struct {
	slots chan struct{}
	stall time.Duration
}

func newTurns(n int, stall time.Duration) *turns {
	return &turns{slots: make(chan struct{}, max(1, n)), stall: stall}
}

// take waits for a turn (or the end of ctx) and returns the function that
// gives it back; the turn is given back after t.stall at the latest.
func (t *turns) take(ctx context.Context) (done func(), err error) {
	select {
	case t.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var once sync.Once
	give := func() { once.Do(func() { <-t.slots }) }
	timer := time.AfterFunc(t.stall, give)
	return func() {
		timer.Stop()
		give()
	}, nil
}

// sendTurns is how many streams send at once: half the cores the Go
// runtime uses, at least one.
func sendTurns() int { return max(1, runtime.GOMAXPROCS(0)/2) }
