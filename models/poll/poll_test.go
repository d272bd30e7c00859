package poll

import (
	"context"
	"testing"
	"time"
)

// Run drains until there is nothing to do, then waits for a wake: wakes
// sent while it works count once. It returns when its context ends.
func TestRunDrainsWaitsForAWakeAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	wake := NewWake()
	work := []int{3, 2, 1}
	idle := make(chan int, 10)
	calls := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, time.Hour, wake, func(context.Context) int {
			calls++
			if len(work) > 0 {
				n := work[0]
				work = work[1:]
				return n
			}
			if calls == 4 { // the first time idle: two wakes while busy
				wake.Send()
				wake.Send()
			}
			idle <- calls
			return 0
		})
	}()
	if n := <-idle; n != 4 {
		t.Fatalf("idle after %d calls, want 4", n)
	}
	if n := <-idle; n != 5 {
		t.Fatalf("woken: call %d, want 5", n)
	}
	cancel()
	<-done
	if calls != 5 {
		t.Errorf("%d calls of drain, want 5: the two wakes sent while busy count once", calls)
	}
}
