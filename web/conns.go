package web

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"roster/models"
)

// trackedListener is the server's listener. It
//   - remembers its open connections, so that shutdown can close the ones
//     still open when the grace period ends (a client that connected but
//     never sent a request would otherwise hold shutdown until the read
//     timeout);
//   - caps open connections (--max-connections): at the cap, Accept waits
//     for one to close, so the process never runs out of file descriptors;
//   - caps connections per client network (--max-connections-per-ip), except
//     from trusted proxies, which carry everyone's;
//   - retries failed accepts (EMFILE and other temporary errors) with a
//     backoff, as net/http does, instead of ending Serve.
type trackedListener struct {
	net.Listener
	log     *slog.Logger
	slots   chan struct{} // one per open connection; nil: no cap
	perIP   int
	trusted func(netip.Addr) bool
	closed  chan struct{}
	once    sync.Once

	mu     sync.Mutex
	conns  map[*trackedConn]struct{}
	byNet  map[string]int
	lastIP time.Time // when an over-cap network was last logged
}

// connLimits are the caps of a trackedListener (0: none).
type connLimits struct {
	max, perIP int
	trusted    func(netip.Addr) bool
}

func trackConns(ln net.Listener, log *slog.Logger, lim connLimits) *trackedListener {
	l := &trackedListener{Listener: ln, log: log, perIP: lim.perIP, trusted: lim.trusted, closed: make(chan struct{}),
		conns: map[*trackedConn]struct{}{}, byNet: map[string]int{}}
	if lim.max > 0 {
		l.slots = make(chan struct{}, lim.max)
	}
	if l.trusted == nil {
		l.trusted = func(netip.Addr) bool { return false }
	}
	return l
}

// Accept backoff, as net/http's: 5 ms doubling to 1 s.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

func (l *trackedListener) Accept() (net.Conn, error) {
	var delay time.Duration
	failures := 0
	for {
		if l.slots != nil {
			select {
			case l.slots <- struct{}{}:
			case <-l.closed:
				return nil, net.ErrClosed
			}
		}
		c, err := l.Listener.Accept()
		if err != nil {
			l.release()
			if !retryable(err) {
				return nil, err
			}
			failures++
			delay = min(max(2*delay, acceptBackoffMin), acceptBackoffMax)
			if failures == 1 || delay == acceptBackoffMax && failures%10 == 0 {
				l.log.Error("accepting a connection failed; retrying", "err", err, "retry_in", delay, "failures", failures)
			}
			select {
			case <-time.After(delay):
				continue
			case <-l.closed:
				return nil, net.ErrClosed
			}
		}
		if failures > 0 {
			l.log.Info("accepting connections again", "after_failures", failures)
			failures, delay = 0, 0
		}
		key, counted := l.netKey(c)
		if counted && !l.admit(key) {
			_ = c.Close()
			l.release()
			continue
		}
		tc := &trackedConn{Conn: c, owner: l, key: key, counted: counted}
		l.mu.Lock()
		l.conns[tc] = struct{}{}
		l.mu.Unlock()
		return tc, nil
	}
}

// retryable: errors after which accepting again can succeed (out of file
// descriptors or memory, a connection aborted before it was accepted).
func retryable(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (l *trackedListener) release() {
	if l.slots != nil {
		<-l.slots
	}
}

// netKey is the network a connection counts under, and whether it counts
// (trusted proxies and unknown addresses do not).
func (l *trackedListener) netKey(c net.Conn) (string, bool) {
	if l.perIP <= 0 {
		return "", false
	}
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil || l.trusted(ap.Addr().Unmap()) {
		return "", false
	}
	return models.NetworkKey(ap.Addr().String()), true
}

func (l *trackedListener) admit(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byNet[key] >= l.perIP {
		if time.Since(l.lastIP) > time.Minute {
			l.log.Warn("refused connections from a network over --max-connections-per-ip", "network", key, "limit", l.perIP)
			l.lastIP = time.Now()
		}
		return false
	}
	l.byNet[key]++
	return true
}

// Close stops accepting, also ending an Accept that waits for a slot.
func (l *trackedListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// closeAll closes every connection still open and returns how many there were.
func (l *trackedListener) closeAll() int {
	l.mu.Lock()
	conns := make([]*trackedConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
	return len(conns)
}

type trackedConn struct {
	net.Conn
	owner   *trackedListener
	key     string
	counted bool
	once    sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		l := c.owner
		l.mu.Lock()
		delete(l.conns, c)
		if c.counted {
			if l.byNet[c.key]--; l.byNet[c.key] <= 0 {
				delete(l.byNet, c.key)
			}
		}
		l.mu.Unlock()
		l.release()
	})
	return c.Conn.Close()
}
