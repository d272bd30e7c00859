package webtest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
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

// MesiboPath is where FakeMesibo serves the backend API, as mesibo cloud
// does (https://api.mesibo.com/backend/).
const MesiboPath = "/backend/"

// FakeMesibo is a local mesibo backend API. It checks every request against
// mesibo's documented JSON form (docs.mesibo.com, Backend APIs: user
// management and messaging; mesibo/samples backend-api/php/mesiboapi.php)
// and fails the test on any other shape; it answers like mesibo: AUTHFAIL
// for another app token, and for a valid request from a small model of
// users and tokens. Script overrides the answers of the next requests (for
// outages, rate limits, odd replies); their shape is still checked.
type FakeMesibo struct {
	URL string // the API URL, ending in MesiboPath

	t        testing.TB
	mu       sync.Mutex
	appToken string
	got      []Received
	script   []Reply
	users    map[string]*FakeMesiboUser // by address
	nextUID  int
	nextMid  int
}

// FakeMesiboUser is a user the fake knows.
type FakeMesiboUser struct {
	UID     string
	Address string
	Name    string
	Tokens  []string // valid access tokens
}

// NewFakeMesibo starts a fake mesibo for the test's lifetime; appToken is
// the app token it accepts.
func NewFakeMesibo(t testing.TB, appToken string) *FakeMesibo {
	f := &FakeMesibo{t: t, appToken: appToken, users: map[string]*FakeMesiboUser{}, nextUID: 5301, nextMid: 1387627}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.URL = srv.URL + MesiboPath
	return f
}

// Script sets the answers of the next requests, in order; then the model
// answers again.
func (f *FakeMesibo) Script(replies ...Reply) {
	f.mu.Lock()
	f.script = append([]Reply(nil), replies...)
	f.mu.Unlock()
}

// SetAppToken changes the app token the fake accepts (a rotated token).
func (f *FakeMesibo) SetAppToken(tok string) {
	f.mu.Lock()
	f.appToken = tok
	f.mu.Unlock()
}

// Requests returns what was received so far.
func (f *FakeMesibo) Requests() []Received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Received(nil), f.got...)
}

// Ops returns the ops received so far, in order.
func (f *FakeMesibo) Ops() []string {
	var ops []string
	for _, r := range f.Requests() {
		var b struct{ Op string }
		json.Unmarshal(r.Body, &b)
		ops = append(ops, b.Op)
	}
	return ops
}

// User returns the user with this address, or nil.
func (f *FakeMesibo) User(address string) *FakeMesiboUser {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u := f.users[address]; u != nil {
		c := *u
		c.Tokens = append([]string(nil), u.Tokens...)
		return &c
	}
	return nil
}

// TokenValid tells whether mesibo would accept this access token.
func (f *FakeMesibo) TokenValid(token string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range f.users {
		for _, t := range u.Tokens {
			if t == token {
				return true
			}
		}
	}
	return false
}

func (f *FakeMesibo) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.got = append(f.got, Received{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
	var scripted *Reply
	if len(f.script) > 0 {
		scripted = &f.script[0]
		f.script = f.script[1:]
	}
	f.mu.Unlock()

	op, problem := f.check(r, body)
	if problem != "" {
		f.t.Errorf("fake mesibo: request not in mesibo's documented form: %s\n%s", problem, body)
	}
	if scripted != nil {
		if scripted.Delay > 0 {
			select {
			case <-time.After(scripted.Delay):
			case <-r.Context().Done():
				return
			}
		}
		writeReply(w, *scripted)
		return
	}
	if problem != "" {
		writeJSON(w, map[string]any{"op": op, "result": false, "error": "BADREQUEST", "cause": problem})
		return
	}
	writeJSON(w, f.answer(op, body))
}

func writeJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	writeReply(w, Reply{Status: http.StatusOK, Body: string(b)})
}

// check returns the op and what is wrong with the request ("" if nothing).
func (f *FakeMesibo) check(r *http.Request, body []byte) (string, string) {
	if r.Method != http.MethodPost || r.URL.Path != MesiboPath || r.URL.RawQuery != "" {
		return "", fmt.Sprintf("%s %s?%s: want POST %s without a query (the app token never goes in a URL)", r.Method, r.URL.Path, r.URL.RawQuery, MesiboPath)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		return "", "Content-Type " + ct + ", want application/json"
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return "", "not a JSON object: " + err.Error()
	}
	op, _ := m["op"].(string)
	if _, ok := m["token"].(string); !ok {
		return op, `"token" (the app token) must be a string`
	}
	var objKey string
	var fields map[string]string // field -> kind: "string", "int", "bool", "object", "?..." optional
	switch op {
	case "useradd":
		objKey, fields = "user", map[string]string{"address": "string", "name": "?string", "token": "?object", "active": "?bool"}
	case "userdel":
		objKey, fields = "user", map[string]string{"uid": "int"}
	case "message":
		objKey, fields = "message", map[string]string{"from": "string", "to": "string", "type": "int", "expiry": "int",
			"flags": "int", "forced": "bool", "message": "string"}
	default:
		return op, fmt.Sprintf("op %q is not one Roster should send (useradd, userdel, message)", op)
	}
	for k := range m {
		if k != "op" && k != "token" && k != "id" && k != objKey {
			return op, fmt.Sprintf("top-level field %q: %s's fields go under %q", k, op, objKey)
		}
	}
	obj, ok := m[objKey].(map[string]any)
	if !ok {
		return op, fmt.Sprintf("%q must be an object", objKey)
	}
	if p := checkFields(objKey, obj, fields); p != "" {
		return op, p
	}
	if tok, ok := obj["token"].(map[string]any); ok {
		if p := checkFields("user.token", tok, map[string]string{"appid": "string", "expiry": "int"}); p != "" {
			return op, p
		}
		if n, _ := tok["expiry"].(json.Number).Int64(); n < 1 {
			return op, "user.token.expiry must be a positive number of minutes"
		}
	}
	return op, ""
}

func checkFields(where string, obj map[string]any, fields map[string]string) string {
	for k := range obj {
		if _, ok := fields[k]; !ok {
			return fmt.Sprintf("%s.%s is not a documented field", where, k)
		}
	}
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		kind := fields[k]
		v, present := obj[k]
		if kind[0] == '?' {
			if !present {
				continue
			}
			kind = kind[1:]
		} else if !present {
			return fmt.Sprintf("%s.%s is missing", where, k)
		}
		okType := false
		switch kind {
		case "string":
			s, isStr := v.(string)
			okType = isStr && (s != "" || k == "name" || k == "message")
		case "int":
			n, isNum := v.(json.Number)
			_, err := strconv.ParseInt(string(n), 10, 64)
			okType = isNum && err == nil
		case "bool":
			_, okType = v.(bool)
		case "object":
			_, okType = v.(map[string]any)
		}
		if !okType {
			return fmt.Sprintf("%s.%s = %v: want a %s", where, k, v, kind)
		}
	}
	return ""
}

// answer is the model's reply to a request in the documented form.
func (f *FakeMesibo) answer(op string, body []byte) map[string]any {
	var req struct {
		Token string
		User  struct {
			UID     json.Number
			Address string
			Name    string
			Token   *struct{ Appid string }
		}
		Message struct{ From, To string }
	}
	json.Unmarshal(body, &req)
	f.mu.Lock()
	defer f.mu.Unlock()
	if req.Token != f.appToken {
		return map[string]any{"op": op, "result": false, "error": "AUTHFAIL", "cause": "invalid app token"}
	}
	switch op {
	case "useradd":
		u := f.users[req.User.Address]
		if u == nil {
			u = &FakeMesiboUser{UID: strconv.Itoa(f.nextUID), Address: req.User.Address}
			f.nextUID++
			f.users[u.Address] = u
		}
		u.Name = req.User.Name
		user := map[string]any{"uid": u.UID}
		if req.User.Token != nil {
			tok := fmt.Sprintf("fake-mesibo-token-%s-%02d-%s", u.UID, len(u.Tokens)+1, req.User.Token.Appid)
			u.Tokens = append(u.Tokens, tok)
			user["token"] = tok
		}
		return map[string]any{"op": op, "result": true, "user": user}
	case "userdel":
		for addr, u := range f.users {
			if u.UID == req.User.UID.String() {
				delete(f.users, addr)
				return map[string]any{"op": op, "result": true}
			}
		}
		return map[string]any{"op": op, "result": false, "error": "NOUSER"}
	default: // message
		if f.users[req.Message.From] == nil {
			return map[string]any{"op": op, "result": false, "error": "NOUSER", "cause": "from must be a valid user"}
		}
		f.nextMid++
		return map[string]any{"op": op, "mid": f.nextMid, "result": true}
	}
}
