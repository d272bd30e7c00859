package web_test

import (
	"context"
	"net"
	"testing"
	"time"

	"roster/web/webtest"
)

// serveUntil runs the server (and so its delivery worker) on a loopback
// listener; stop shuts it down and waits for Serve to return.
func serveUntil(t *testing.T, e *webtest.Env) (stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Server.Serve(ctx, ln) }()
	return func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Serve did not return")
		}
	}
}

func waitRequests(t *testing.T, fake *webtest.FakeHTTP, n int) {
	t.Helper()
	for i := 0; i < 500 && len(fake.Requests()) < n; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if len(fake.Requests()) < n {
		t.Fatalf("the provider got %d requests, want %d", len(fake.Requests()), n)
	}
}

// The worker claims one message at a time: while the provider is slow on
// the first code, the others are not held under a lease.
func TestWorkerClaimsOneMessageAtATime(t *testing.T) {
	fake := webtest.NewFakeHTTP(t, webtest.Reply{Status: 201, Body: twilioCreated, Delay: 250 * time.Millisecond})
	e := twilioEnv(t, fake, "--otp-ip-hourly", "0")
	for _, p := range []string{"12015550101", "12015550102", "12015550103"} {
		e.JSON(webtest.LoginParams(p)).ExpectOK(t)
	}
	stop := serveUntil(t, e) // the worker starts with three due messages
	defer stop()
	waitRequests(t, fake, 1)
	if n := e.Count("SELECT COUNT(*) FROM outbox WHERE state = 'sending'"); n != 1 {
		t.Errorf("%d messages claimed at once, want 1", n)
	}
}

// A send in flight at shutdown finishes and is recorded: it neither waits a
// lease nor goes out twice after the restart.
func TestShutdownRecordsTheSendInFlight(t *testing.T) {
	fake := webtest.NewFakeHTTP(t, webtest.Reply{Status: 201, Body: twilioCreated, Delay: 200 * time.Millisecond})
	e := twilioEnv(t, fake)
	stop := serveUntil(t, e)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	waitRequests(t, fake, 1)
	stop() // while the provider has not answered yet
	row := lastOutbox(t, e)
	if row.State != "sent" {
		t.Errorf("after shutdown: %+v", row)
	}
	if n := e.Count("SELECT COUNT(*) FROM outbox WHERE lease_until IS NOT NULL"); n != 0 {
		t.Errorf("%d messages left under a lease", n)
	}
}
