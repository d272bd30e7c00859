package webtest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Received is one request a fake provider received.
type Received struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
}

// Reply is a fake provider's scripted answer. Delay makes it slow (it stops
// waiting when the client gives up).
type Reply struct {
	Status int
	Body   string
	Delay  time.Duration
	Header map[string]string // extra response headers (e.g. Retry-After)
}

// FakeHTTP is a local provider (Twilio, a webhook receiver, mesibo's API)
// that records every request and answers from a script; when the script runs
// out it repeats the last reply.
type FakeHTTP struct {
	URL string
	mu  sync.Mutex
	got []Received
	rs  []Reply
}

// NewFakeHTTP starts a fake provider for the test's lifetime.
func NewFakeHTTP(t testing.TB, replies ...Reply) *FakeHTTP {
	f := &FakeHTTP{rs: replies}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

func (f *FakeHTTP) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.got = append(f.got, Received{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
	rep := Reply{Status: http.StatusOK, Body: "{}"}
	if len(f.rs) > 0 {
		rep = f.rs[0]
		if len(f.rs) > 1 {
			f.rs = f.rs[1:]
		}
	}
	f.mu.Unlock()
	if rep.Delay > 0 {
		select {
		case <-time.After(rep.Delay):
		case <-r.Context().Done():
			return
		}
	}
	writeReply(w, rep)
}

func writeReply(w http.ResponseWriter, rep Reply) {
	w.Header().Set("Content-Type", "application/json")
	for k, v := range rep.Header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(rep.Status)
	io.WriteString(w, rep.Body)
}

// Requests returns what was received so far.
func (f *FakeHTTP) Requests() []Received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Received(nil), f.got...)
}
