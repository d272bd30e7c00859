package handlers_test

import (
	"testing"
	"time"

	"roster/web/webtest"
)

// Streams are capped per session and per user: a new one over a cap
// closes the oldest, so one token cannot hold hundreds of connections.
func TestStreamCaps(t *testing.T) {
	e := webtest.NewPeople(t, "--event-streams-per-session", "2", "--event-streams-per-user", "3")
	a := e.SignIn(alicePhone, "a")
	e.Clock.Advance(time.Minute)
	b := e.SignIn(alicePhone, "b")
	base := e.Listen()
	a1 := openStream(t, base+"/api/events", a, "")
	waitStreams(t, e, 1)
	a2 := openStream(t, base+"/api/events", a, "")
	waitStreams(t, e, 2)
	a3 := openStream(t, base+"/api/events", a, "")
	a1.expectEnd(t, 2*time.Second) // the session's oldest
	waitStreams(t, e, 2)
	b1 := openStream(t, base+"/api/events", b, "")
	waitStreams(t, e, 3)
	openStream(t, base+"/api/events", b, "")
	a2.expectEnd(t, 2*time.Second) // the user's oldest
	waitStreams(t, e, 3)
	for _, s := range []*stream{a3, b1} {
		select {
		case <-s.ended:
			t.Error("a newer stream was closed")
		default:
		}
	}
}

// With the defaults, 50 streams on one token leave 3 open.
func TestStreamCapDefault(t *testing.T) {
	e := webtest.NewPeople(t)
	a := e.SignIn(alicePhone, "a")
	base := e.Listen()
	first := openStream(t, base+"/api/events", a, "")
	waitStreams(t, e, 1)
	for range 49 {
		openStream(t, base+"/api/events", a, "")
	}
	first.expectEnd(t, 5*time.Second)
	waitStreams(t, e, 3)
	if n := e.Server.Events().Hub().Streams(); n != 3 {
		t.Errorf("%d streams open on one token, want 3", n)
	}
}
