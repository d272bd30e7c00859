package webtest

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// Mail is one message a FakeSMTP received.
type Mail struct {
	Helo     string
	Auth     string // "user:password" from AUTH PLAIN, "" without AUTH
	TLS      bool   // the session was upgraded with STARTTLS
	From     string
	To       []string
	Data     string
	Rejected bool // the recipient was refused
}

// FakeSMTP is a local mail server speaking enough SMTP to receive a message:
// EHLO/HELO, STARTTLS (when TLS is set), AUTH PLAIN, MAIL FROM, RCPT TO,
// DATA, RSET, NOOP, QUIT.
type FakeSMTP struct {
	Addr string
	Port int
	// Settings read when a connection starts.
	User, Password string      // required AUTH PLAIN credentials ("" = no AUTH offered)
	TLS            *tls.Config // offer STARTTLS
	ImplicitTLS    bool        // speak TLS from the first byte (port 465 style), with TLS
	RcptReply      string      // e.g. "550 5.1.1 no such user" (default accepts)
	mu             sync.Mutex
	mails          []Mail
	ln             net.Listener
}

// NewFakeSMTP starts a fake mail server for the test's lifetime.
func NewFakeSMTP(t testing.TB) *FakeSMTP {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &FakeSMTP{ln: ln, Addr: ln.Addr().String(), Port: ln.Addr().(*net.TCPAddr).Port}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.session(c)
		}
	}()
	return f
}

// Mails returns the messages received so far (accepted or refused).
func (f *FakeSMTP) Mails() []Mail {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Mail(nil), f.mails...)
}

// Set changes the server's settings under its lock.
func (f *FakeSMTP) Set(fn func(f *FakeSMTP)) {
	f.mu.Lock()
	fn(f)
	f.mu.Unlock()
}

func (f *FakeSMTP) session(c net.Conn) {
	defer c.Close()
	f.mu.Lock()
	user, pass, tlsCfg, rcptReply, implicit := f.User, f.Password, f.TLS, f.RcptReply, f.ImplicitTLS
	f.mu.Unlock()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var m Mail
	if implicit {
		tc := tls.Server(c, tlsCfg)
		if err := tc.Handshake(); err != nil {
			return
		}
		c, m.TLS = tc, true
	}
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	say := func(s string) { w.WriteString(s + "\r\n"); w.Flush() }
	authed := user == ""
	say("220 fake.smtp ESMTP ready")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			m.Helo = arg
			ext := []string{"250-fake.smtp", "250-8BITMIME", "250-SMTPUTF8"}
			if tlsCfg != nil && !m.TLS {
				ext = append(ext, "250-STARTTLS")
			}
			if user != "" {
				ext = append(ext, "250-AUTH PLAIN")
			}
			ext = append(ext, "250 SIZE 1000000")
			for _, e := range ext {
				w.WriteString(e + "\r\n")
			}
			w.Flush()
		case "STARTTLS":
			if tlsCfg == nil {
				say("502 no")
				continue
			}
			say("220 go ahead")
			tc := tls.Server(c, tlsCfg)
			if err := tc.Handshake(); err != nil {
				return
			}
			c = tc
			r, w = bufio.NewReader(tc), bufio.NewWriter(tc)
			m.TLS = true
		case "AUTH":
			mech, b64, _ := strings.Cut(arg, " ")
			raw, err := base64.StdEncoding.DecodeString(b64)
			parts := strings.Split(string(raw), "\x00")
			if strings.ToUpper(mech) != "PLAIN" || err != nil || len(parts) != 3 || parts[1] != user || parts[2] != pass {
				say("535 5.7.8 authentication failed")
				continue
			}
			m.Auth = parts[1] + ":" + parts[2]
			authed = true
			say("235 2.7.0 ok")
		case "MAIL":
			if !authed {
				say("530 5.7.0 authentication required")
				continue
			}
			m.From = strings.TrimSuffix(strings.TrimPrefix(strings.Fields(arg)[0], "FROM:<"), ">")
			say("250 ok")
		case "RCPT":
			to := strings.TrimSuffix(strings.TrimPrefix(strings.Fields(arg)[0], "TO:<"), ">")
			m.To = append(m.To, to)
			if rcptReply != "" {
				m.Rejected = true
				f.record(m)
				say(rcptReply)
				continue
			}
			say("250 ok")
		case "DATA":
			say("354 end with .")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			m.Data = b.String()
			f.record(m)
			m = Mail{Helo: m.Helo, Auth: m.Auth, TLS: m.TLS}
			say("250 queued")
		case "RSET":
			m = Mail{Helo: m.Helo, Auth: m.Auth, TLS: m.TLS}
			say("250 ok")
		case "NOOP":
			say("250 ok")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("500 unknown command")
		}
	}
}

func (f *FakeSMTP) record(m Mail) {
	f.mu.Lock()
	f.mails = append(f.mails, m)
	f.mu.Unlock()
}
