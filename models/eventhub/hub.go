// Package eventhub holds the live event streams of this process: the
// notices' fan-out wakes them when it writes their user's events, and
// session revocation ends them. It knows nothing of the database; the
// models' Bus relays its wake-ups and revocations between instances.
package eventhub

import (
	"context"
	"sync"
	"time"
)

// Hub connects the fan-out worker and session revocation to the live streams
// of this process. It holds no state that must survive a restart: a stream
// that reconnects resumes from the stored events.
//
// Streams are capped per session and per user: each holds a connection and
// a goroutine, and one token could otherwise open hundreds. A new stream
// over a cap closes the oldest one (a client that reconnects without
// closing its old connection keeps working; only the stale one ends).
type Hub struct {
	mu         sync.Mutex
	subs       map[int64]map[*Subscription]struct{} // by user id
	seq        uint64
	perSession int
	perUser    int
	// relayWake and relayRevoke, when set (Relay, on PostgreSQL), send
	// this process's wake-ups and revocations to the other instances.
	relayWake, relayRevoke func(ids []int64)
	turns                  *turns // of sending (turns.go)
}

// Default caps of live streams: an app holds one per device, a few during
// reconnects.
const (
	DefaultStreamsPerSession = 3
	DefaultStreamsPerUser    = 10
)

// New returns an empty hub with these caps (<= 0: the defaults). paced
// makes streams send in bursts with pauses between them (turns.go): for a
// database in this process, where a turn's time is this machine's CPU.
func New(perSession, perUser int, paced bool) *Hub {
	if perSession <= 0 {
		perSession = DefaultStreamsPerSession
	}
	if perUser <= 0 {
		perUser = DefaultStreamsPerUser
	}
	pause := time.Duration(0)
	if paced {
		pause = sendPause
	}
	return &Hub{subs: map[int64]map[*Subscription]struct{}{}, perSession: perSession, perUser: perUser,
		turns: newTurns(sendTurns(), turnStall, sendBurst, pause)}
}

// Subscription is one live stream.
type Subscription struct {
	UserID    int64
	SessionID int64
	// Wake receives a value when the user may have new events.
	Wake chan struct{}
	// Revoked is closed when the stream must end: its session was revoked,
	// or newer streams displaced it over a cap.
	Revoked chan struct{}
	once    sync.Once
	seq     uint64 // order of subscription: the lowest is the oldest
}

func (s *Subscription) end() { s.once.Do(func() { close(s.Revoked) }) }

// wake tells the stream to read its events; it never blocks.
func (s *Subscription) wake() {
	select {
	case s.Wake <- struct{}{}:
	default:
	}
}

// Relay sends the hub's wake-ups and revocations on to wake and revoke too
// (the other instances), besides this process's streams. It is called
// once, before the hub serves streams.
func (h *Hub) Relay(wake, revoke func(ids []int64)) {
	h.relayWake, h.relayRevoke = wake, revoke
}

// SendTurn waits for the stream's turn to read and send its events (or the
// end of ctx) and returns the function that ends it (turns.go).
func (h *Hub) SendTurn(ctx context.Context) (done func(), err error) {
	return h.turns.take(ctx)
}

// Subscribe registers a stream, closing the oldest of the session's or
// the user's streams when this one goes over a cap.
func (h *Hub) Subscribe(userID, sessionID int64) *Subscription {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	s := &Subscription{UserID: userID, SessionID: sessionID, Wake: make(chan struct{}, 1), Revoked: make(chan struct{}), seq: h.seq}
	if h.subs[userID] == nil {
		h.subs[userID] = map[*Subscription]struct{}{}
	}
	subs := h.subs[userID]
	subs[s] = struct{}{}
	h.trim(subs, func(o *Subscription) bool { return o.SessionID == sessionID }, h.perSession)
	h.trim(subs, func(*Subscription) bool { return true }, h.perUser)
	return s
}

// trim ends and removes the oldest matching streams beyond limit.
func (h *Hub) trim(subs map[*Subscription]struct{}, match func(*Subscription) bool, limit int) {
	for {
		var oldest *Subscription
		n := 0
		for o := range subs {
			if match(o) {
				n++
				if oldest == nil || o.seq < oldest.seq {
					oldest = o
				}
			}
		}
		if n <= limit {
			return
		}
		oldest.end()
		delete(subs, oldest)
	}
}

// Unsubscribe removes a stream.
func (h *Hub) Unsubscribe(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs[s.UserID], s)
	if len(h.subs[s.UserID]) == 0 {
		delete(h.subs, s.UserID)
	}
}

// Notify wakes the streams of these users, here and (with a relay) on the
// other instances. It never blocks on a stream.
func (h *Hub) Notify(userIDs []int64) {
	h.WakeLocal(userIDs)
	if h.relayWake != nil && len(userIDs) > 0 {
		h.relayWake(userIDs)
	}
}

// RevokeSessions ends the streams of these sessions, here and (with a
// relay) on the other instances.
func (h *Hub) RevokeSessions(sessionIDs ...int64) {
	h.RevokeLocal(sessionIDs)
	if h.relayRevoke != nil && len(sessionIDs) > 0 {
		h.relayRevoke(sessionIDs)
	}
}

// WakeLocal wakes the streams of these users in this process only (what
// another instance relayed).
func (h *Hub) WakeLocal(userIDs []int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, id := range userIDs {
		for s := range h.subs[id] {
			s.wake()
		}
	}
}

// WakeAll wakes every stream of this process (after relayed wake-ups may
// have been lost): each re-reads its events from the table.
func (h *Hub) WakeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, subs := range h.subs {
		for s := range subs {
			s.wake()
		}
	}
}

// RevokeLocal ends the streams of these sessions in this process only
// (what another instance relayed).
func (h *Hub) RevokeLocal(sessionIDs []int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, subs := range h.subs {
		for s := range subs {
			for _, id := range sessionIDs {
				if s.SessionID == id {
					s.end()
				}
			}
		}
	}
}

// Streams counts the live streams.
func (h *Hub) Streams() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, subs := range h.subs {
		n += len(subs)
	}
	return n
}
