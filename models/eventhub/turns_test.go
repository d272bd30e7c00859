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
	h := New(0, 0)
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
	tr := newTurns(1, 10*time.Millisecond)
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
