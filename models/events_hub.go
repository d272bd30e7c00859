package models

import (
	"sync"
)

// The hub wakes the live event streams of this process when the fan-out
// writes their user's events, and ends them when their session is revoked.

// Hub is where live streams wait for their user's events.
func (e *Events) Hub() *Hub { return e.hub }

// Hub connects the fan-out worker and session revocation to the live streams
// of this process. It holds no state that must survive a restart: a stream
// that reconnects resumes from the stored events.
type Hub struct {
	mu   sync.Mutex
	subs map[int64]map[*Subscription]struct{} // by user id
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{subs: map[int64]map[*Subscription]struct{}{}} }

// Subscription is one live stream.
type Subscription struct {
	UserID    int64
	SessionID int64
	// Wake receives a value when the user may have new events.
	Wake chan struct{}
	// Revoked is closed when the stream's session is revoked.
	Revoked chan struct{}
	once    sync.Once
}

// Subscribe registers a stream.
func (h *Hub) Subscribe(userID, sessionID int64) *Subscription {
	s := &Subscription{UserID: userID, SessionID: sessionID, Wake: make(chan struct{}, 1), Revoked: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs[userID] == nil {
		h.subs[userID] = map[*Subscription]struct{}{}
	}
	h.subs[userID][s] = struct{}{}
	return s
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

// Notify wakes the streams of these users. It never blocks.
func (h *Hub) Notify(userIDs []int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, id := range userIDs {
		for s := range h.subs[id] {
			select {
			case s.Wake <- struct{}{}:
			default:
			}
		}
	}
}

// RevokeSessions ends the streams of these sessions.
func (h *Hub) RevokeSessions(sessionIDs ...int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, subs := range h.subs {
		for s := range subs {
			for _, id := range sessionIDs {
				if s.SessionID == id {
					s.once.Do(func() { close(s.Revoked) })
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
