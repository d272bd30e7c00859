package web_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"roster/web/webtest"
)

// Profile changes and joins made after the system clock was stepped back
// an hour still reach an incremental sync from the newest change the
// client saw, or from the time of its last sync: stored change times never
// go back, nor below a reply's ts.
func TestChangesAfterClockStepBackReachIncrementalSync(t *testing.T) {
	const carolPhone, davePhone = "12015550145", "12015550146"
	e := webtest.NewPeople(t)
	alice := e.SignIn(webtest.USPhone, "a")
	bob := e.SignIn(webtest.FRPhone, "b")
	carol := e.SignIn(carolPhone, "c")
	e.GetContacts(t, alice, map[string]any{"phones": "+" + webtest.FRPhone + ",+" + carolPhone + ",+" + davePhone})
	e.Clock.Advance(time.Minute)
	e.SetProfile(t, bob, map[string]any{"name": "Bob"})
	var newest int64
	for _, c := range e.GetContacts(t, alice, map[string]any{"ts": "0"}).Contacts {
		ts, _ := strconv.ParseInt(c.TS, 10, 64)
		newest = max(newest, ts)
	}

	// An app may keep the reply's own ts instead: the time of its last sync.
	e.Clock.Advance(10 * time.Minute)
	synced := e.GetContacts(t, alice, map[string]any{"ts": strconv.FormatInt(newest, 10)}).TS

	e.Clock.Step(-time.Hour)
	e.Clock.Advance(time.Second)
	e.SetProfile(t, carol, map[string]any{"name": "Carol"})
	e.SignIn(davePhone, "d")

	for _, since := range []int64{newest, synced} {
		got := map[string]int64{}
		for _, c := range e.GetContacts(t, alice, map[string]any{"ts": strconv.FormatInt(since, 10)}).Contacts {
			got[c.Phone], _ = strconv.ParseInt(c.TS, 10, 64)
		}
		for _, who := range []string{carolPhone, davePhone} {
			if ts, ok := got[who]; !ok || ts < since {
				t.Errorf("%s after the step, asked since %d: in the sync %v, ts %d", who, since, ok, ts)
			}
		}
	}
}

// A code whose delivery failed is retried after its backoff, measured as
// time passed: the system clock stepped back an hour meanwhile does not
// hold it back an hour.
func TestCodeRetryNotDelayedByClockStepBack(t *testing.T) {
	fake := webtest.NewFakeHTTP(t,
		webtest.Reply{Status: 503, Body: `{"code":20503,"message":"Service unavailable","status":503}`},
		webtest.Reply{Status: http.StatusCreated, Body: twilioCreated})
	e := twilioEnv(t, fake)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	ctx := context.Background()
	e.Server.Worker().RunOnce(ctx)
	if row := lastOutbox(t, e); row.State != "pending" {
		t.Fatalf("after a 503: %+v", row)
	}
	e.Clock.Step(-time.Hour)
	e.Clock.Advance(10 * time.Second) // past the first backoff (2 s at most)
	e.Server.Worker().RunOnce(ctx)
	if row := lastOutbox(t, e); row.State != "sent" || row.Attempts != 2 {
		t.Errorf("10 s after the failure, the clock stepped back an hour: %+v", row)
	}
}
