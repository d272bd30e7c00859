package eventhub

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

// Streams send in turns, half the cores' worth at once: with every turn
// taken the next stream waits (here until its context ends), and a turn
// given back goes to it.
func TestSendTurnsWaitForAFreeTurn(t *testing.T) {
	h := New(0, 0, true)
	if got, want := cap(h.turns.slots), max(1, runtime.GOMAXPROCS(0)/2); got != want {
		t.Fatalf("%d turns, want %d", got, want)
	}
	h.turns.stall = time.Hour
	var dones []func()
	for range cap(h.turns.slots) {
		done, err := h.SendTurn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		dones = append(dones, done)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := h.SendTurn(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a turn with every turn taken: %v, want to wait", err)
	}
	got := make(chan error, 1)
	go func() {
		done, err := h.SendTurn(context.Background())
		if err == nil {
			done()
		}
		got <- err
	}()
	dones[0]()
	dones[0]() // twice: gives back one turn, once
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if n := len(h.turns.slots); n != cap(h.turns.slots)-1 {
		t.Fatalf("%d turns taken after one was given back (twice) and taken and given back again, want %d", n, cap(h.turns.slots)-1)
	}
}

// A stream stuck in its send (a client that stopped reading) loses its
// turn after the stall time, and the others go on; its own late done
// then gives back nothing more.
func TestSendTurnGivenBackAfterAStall(t *testing.T) {
	tr := newTurns(1, 10*time.Millisecond, time.Hour, 0)
	stuck, err := tr.take(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tr.stall = time.Hour // the next holder keeps its turn
	next, err := tr.take(ctx)
	if err != nil {
		t.Fatalf("the turn of a stuck stream was not given back: %v", err)
	}
	stuck()
	if n := len(tr.slots); n != 1 {
		t.Fatalf("%d turns taken after the stuck stream's late done, want 1 (the next one's)", n)
	}
	next()
	if n := len(tr.slots); n != 0 {
		t.Fatalf("%d turns taken after both are done, want 0", n)
	}
}

// Turns start within a burst at once; after it, they wait for its pause
// to end (here longer than their context lasts, and the slot they held
// while waiting is free again); with no pause, the next burst starts at
// once.
func TestSendTurnsPauseAfterABurst(t *testing.T) {
	take := func(tr *turns) error {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		done, err := tr.take(ctx)
		if err == nil {
			done()
		}
		return err
	}
	long := newTurns(1, time.Hour, time.Hour, time.Hour)
	for i := range 3 {
		if err := take(long); err != nil {
			t.Fatalf("turn %d within the burst: %v", i, err)
		}
	}
	paused := newTurns(1, time.Hour, time.Nanosecond, time.Hour)
	if err := take(paused); err != nil {
		t.Fatalf("the first turn: %v", err)
	}
	if err := take(paused); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a turn after the burst: %v, want to wait for the pause", err)
	}
	if n := len(paused.slots); n != 0 {
		t.Fatalf("%d turns held after a wait for the pause ended with its context", n)
	}
	unpaused := newTurns(1, time.Hour, time.Nanosecond, 0)
	for i := range 3 {
		if err := take(unpaused); err != nil {
			t.Fatalf("turn %d with no pause: %v", i, err)
		}
	}
}
