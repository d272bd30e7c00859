package pgtest

import (
	"net"
	"net/url"
	"sync"
	"testing"
)

// Proxy forwards TCP connections to the PostgreSQL server of a database
// URL and can stop forwarding: frozen, it looks to Roster like a server
// stopped with SIGSTOP (connections are accepted, nothing sent is ever
// answered), on any server, the shared test server included.
type Proxy struct {
	ln     net.Listener
	target string
	url    string

	mu     sync.Mutex
	thawed chan struct{} // closed while forwarding; replaced by Freeze
	down   bool          // connections are closed as they come (Stop)
	conns  []net.Conn
}

// NewProxy listens on loopback and forwards to the host of databaseURL
// until the test ends.
func NewProxy(t testing.TB, databaseURL string) *Proxy {
	t.Helper()
	u, err := url.Parse(databaseURL)
	if err != nil {
		t.Fatalf("database URL: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	thawed := make(chan struct{})
	close(thawed)
	p := &Proxy{ln: ln, target: u.Host, thawed: thawed}
	u.Host = ln.Addr().String()
	p.url = u.String()
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// URL is the database URL through the proxy.
func (p *Proxy) URL() string { return p.url }

// Freeze stops forwarding: bytes already sent and new connections wait
// until Thaw.
func (p *Proxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.thawed:
		p.thawed = make(chan struct{})
	default:
	}
}

// Thaw forwards again, what waited first.
func (p *Proxy) Thaw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.thawed:
	default:
		close(p.thawed)
	}
}

// Stop closes every connection and, until Start, each new one at once:
// to Roster, a server restarting.
func (p *Proxy) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// Start forwards new connections again after Stop.
func (p *Proxy) Start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

// wait returns once the proxy forwards.
func (p *Proxy) wait() {
	p.mu.Lock()
	ch := p.thawed
	p.mu.Unlock()
	<-ch
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			c.Close()
			continue
		}
		go p.forward(c)
	}
}

// track keeps c to close later; false while stopped.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return false
	}
	p.conns = append(p.conns, c)
	return true
}

func (p *Proxy) forward(client net.Conn) {
	p.wait()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	if !p.track(server) {
		server.Close()
		client.Close()
		return
	}
	go p.copy(server, client)
	p.copy(client, server)
}

// copy moves bytes from src to dst, holding each chunk while frozen.
func (p *Proxy) copy(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.wait()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// close ends the listener and every connection.
func (p *Proxy) close() {
	p.Thaw()
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}
