package web_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"roster/web/webtest"
)

// flakyListener fails its first Accepts as a process out of file
// descriptors does.
type flakyListener struct {
	net.Listener
	failures atomic.Int32
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.failures.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// EMFILE from accept is retried with a backoff; the server keeps serving.
func TestAcceptErrorsAreRetried(t *testing.T) {
	e := webtest.New(t)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &flakyListener{Listener: inner}
	ln.failures.Store(5)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Server.Serve(ctx, ln) }()
	client := &http.Client{Timeout: 2 * time.Second}
	res, err := client.Get("http://" + inner.Addr().String() + "/livez")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve ended on EMFILE: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return after shutdown")
	}
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("after accept errors: %v %v", err, res)
	}
	res.Body.Close()
}

// --max-connections: at the cap, a new connection waits until one closes.
// --max-connections-per-ip: over it, a client's extra connection is closed.
func TestConnectionCaps(t *testing.T) {
	e := webtest.New(t, webtest.WithArgs("--max-connections", "2", "--max-connections-per-ip", "0"))
	base := e.Listen()
	addr := base[len("http://"):]
	a, _ := net.Dial("tcp", addr)
	b, _ := net.Dial("tcp", addr)
	defer a.Close()
	defer b.Close()
	quick := &http.Client{Timeout: 300 * time.Millisecond}
	if _, err := quick.Get(base + "/livez"); err == nil {
		t.Error("a third connection was served at --max-connections 2")
	}
	a.Close()
	res, err := (&http.Client{Timeout: 5 * time.Second}).Get(base + "/livez")
	if err != nil {
		t.Fatalf("after a connection closed: %v", err)
	}
	res.Body.Close()

	p := webtest.New(t, webtest.WithArgs("--max-connections-per-ip", "2"))
	pbase := p.Listen()
	paddr := pbase[len("http://"):]
	c1, _ := net.Dial("tcp", paddr)
	c2, _ := net.Dial("tcp", paddr)
	defer c1.Close()
	defer c2.Close()
	time.Sleep(50 * time.Millisecond) // both accepted
	c3, err := net.Dial("tcp", paddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	c3.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c3.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("the third connection from one IP was not closed: %v", err)
	}
}
