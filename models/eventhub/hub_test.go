package eventhub

import (
	"slices"
	"testing"
)

// ready reports whether ch has a value or is closed, without waiting.
func ready(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// A stream over the session's cap ends the session's oldest one only.
func TestSubscribeOverCapEndsTheOldest(t *testing.T) {
	h := New(2, 10, true)
	first := h.Subscribe(1, 7)
	second := h.Subscribe(1, 7)
	other := h.Subscribe(1, 8)
	third := h.Subscribe(1, 7)
	if !ready(first.Revoked) {
		t.Fatal("the session's oldest stream is still open over the cap")
	}
	for _, s := range []*Subscription{second, other, third} {
		if ready(s.Revoked) {
			t.Fatalf("stream of session %d ended", s.SessionID)
		}
	}
	if n := h.Streams(); n != 3 {
		t.Fatalf("streams: %d, want 3", n)
	}
}

// Notify and RevokeSessions act here and are relayed; the local variants
// (what another instance relayed) are not relayed again.
func TestRelay(t *testing.T) {
	h := New(0, 0, true)
	var woken, revoked []int64
	h.Relay(func(ids []int64) { woken = append(woken, ids...) }, func(ids []int64) { revoked = append(revoked, ids...) })
	s := h.Subscribe(1, 7)
	h.Notify([]int64{1, 2})
	if !ready(s.Wake) {
		t.Fatal("Notify did not wake the user's stream")
	}
	h.WakeLocal([]int64{1})
	if !ready(s.Wake) {
		t.Fatal("WakeLocal did not wake the user's stream")
	}
	h.RevokeLocal([]int64{9})
	if ready(s.Revoked) {
		t.Fatal("another session's revocation ended the stream")
	}
	h.RevokeSessions(7)
	if !ready(s.Revoked) {
		t.Fatal("RevokeSessions did not end the session's stream")
	}
	if !slices.Equal(woken, []int64{1, 2}) || !slices.Equal(revoked, []int64{7}) {
		t.Fatalf("relayed wake %v, revoke %v; want [1 2], [7]", woken, revoked)
	}
	h.Unsubscribe(s)
	if n := h.Streams(); n != 0 {
		t.Fatalf("streams after Unsubscribe: %d", n)
	}
}
