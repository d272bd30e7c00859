package models

import (
	"context"
	"sync"
)

// A change told to a large group wakes every member's stream at once, and
// each reads its new deliveries. The notice is the same for all of them
// (a 1,000-member group's lists its 1,000 numbers, about 13 KB): read from
// the database by every stream, it was most of the CPU their reads took,
// in the seconds a sign-in waited behind them. So a stream reads only the
// ids of its deliveries (the primary key's index) and takes the notices
// from recentEvents, which the fan-out fills as it writes them and a read
// fills with what it did not find. Events never change once written, so a
// copy kept here is never stale; one pruned meanwhile is read no more.

// The bounds of recentEvents: the notices of the last few changes, so that
// the thousands of streams they wake read each from memory.
const (
	recentEventsMax      = 256
	recentEventsMaxBytes = 4 << 20
)

// recentEvents keeps the type and body of the latest events read or fanned
// out, the oldest dropped first.
type recentEvents struct {
	mu    sync.Mutex
	byID  map[int64]Event
	order []int64 // insertion order: the first is dropped first
	bytes int
}

func newRecentEvents() *recentEvents {
	return &recentEvents{byID: map[int64]Event{}}
}

func (r *recentEvents) put(ev Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.byID[ev.ID]; ok {
		return
	}
	r.byID[ev.ID] = Event{ID: ev.ID, Type: ev.Type, Body: ev.Body}
	r.order = append(r.order, ev.ID)
	r.bytes += len(ev.Body)
	for len(r.order) > recentEventsMax || (r.bytes > recentEventsMaxBytes && len(r.order) > 1) {
		old := r.order[0]
		r.order = r.order[1:]
		r.bytes -= len(r.byID[old].Body)
		delete(r.byID, old)
	}
}

// replace gives the events it holds among evs their new bodies (a
// deleted user taken out of group notices); the others stay out.
func (r *recentEvents) replace(evs []Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range evs {
		if old, ok := r.byID[ev.ID]; ok {
			r.bytes += len(ev.Body) - len(old.Body)
			old.Body = ev.Body
			r.byID[ev.ID] = old
		}
	}
}

// get returns the events of ids it holds, in the order of ids, and the ids
// it does not hold.
func (r *recentEvents) get(ids []int64) (found []Event, missing []int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	found = make([]Event, 0, len(ids))
	for _, id := range ids {
		if ev, ok := r.byID[id]; ok {
			found = append(found, ev)
		} else {
			missing = append(missing, id)
		}
	}
	return found, missing
}

// Since returns up to limit events for the recipient with ids above afterID,
// oldest first (what a stream sends next): their id, type and body.
func (e *Events) Since(ctx context.Context, recipientID, afterID int64, limit int) ([]Event, error) {
	select {
	case e.streamReads <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-e.streamReads }()
	qctx := e.db.statementContext(ctx)
	ids, err := e.deliveryIDs(qctx, recipientID, afterID, limit)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	found, missing := e.recent.get(ids)
	if len(missing) == 0 {
		return found, nil
	}
	read, err := e.eventsByID(qctx, missing)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]Event, len(found)+len(read))
	for _, ev := range found {
		byID[ev.ID] = ev
	}
	for _, ev := range read {
		byID[ev.ID] = ev
		e.recent.put(ev)
	}
	evs := make([]Event, 0, len(ids))
	for _, id := range ids {
		if ev, ok := byID[id]; ok { // absent: pruned since its delivery was read
			evs = append(evs, ev)
		}
	}
	return evs, nil
}

// deliveryIDs reads the ids of the recipient's deliveries above afterID,
// oldest first.
func (e *Events) deliveryIDs(ctx context.Context, recipientID, afterID int64, limit int) ([]int64, error) {
	var ids []int64
	err := e.db.Read.WithContext(ctx).Raw(`SELECT event_id FROM event_deliveries
		WHERE recipient_id = ? AND event_id > ? ORDER BY event_id LIMIT ?`, recipientID, afterID, limit).Scan(&ids).Error
	return ids, err
}

// eventsByID reads the id, type and body of these events.
func (e *Events) eventsByID(ctx context.Context, ids []int64) ([]Event, error) {
	var evs []Event
	err := e.db.Read.WithContext(ctx).Raw("SELECT id, type, body FROM events WHERE id IN ?", ids).Scan(&evs).Error
	return evs, err
}
