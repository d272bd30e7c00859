package webtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

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
	groups   map[string]*FakeMesiboGroup // by gid
	nextGID  int
}

// FakeMesiboGroup is a group the fake knows.
type FakeMesiboGroup struct {
	GID     string
	Name    string
	Members map[string]bool // addresses
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
	f := &FakeMesibo{t: t, appToken: appToken, users: map[string]*FakeMesiboUser{}, nextUID: 5301, nextMid: 1387627,
		groups: map[string]*FakeMesiboGroup{}, nextGID: 96501}
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

// Group returns the group with this gid, or nil.
func (f *FakeMesibo) Group(gid string) *FakeMesiboGroup {
	f.mu.Lock()
	defer f.mu.Unlock()
	if g := f.groups[gid]; g != nil {
		c := *g
		c.Members = map[string]bool{}
		for a := range g.Members {
			c.Members[a] = true
		}
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
	// The group ops, in the shapes of mesibo's own JSON helper (see
	// web/mesibo/groups.go).
	case "groupadd":
		objKey, fields = "group", map[string]string{"name": "string"}
	case "groupset":
		objKey, fields = "group", map[string]string{"gid": "int", "name": "string"}
	case "groupeditmembers":
		objKey, fields = "group", map[string]string{"gid": "int", "members": "object", "delete": "int"}
	case "groupdel":
		objKey, fields = "group", map[string]string{"gid": "int"}
	default:
		return op, fmt.Sprintf("op %q is not one Roster should send (useradd, userdel, message, groupadd, groupset, groupeditmembers, groupdel)", op)
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
	if mem, ok := obj["members"].(map[string]any); ok {
		if p := checkFields("group.members", mem, map[string]string{"m": "string", "permissions": "object"}); p != "" {
			return op, p
		}
		perms, _ := mem["permissions"].(map[string]any)
		if p := checkFields("group.members.permissions", perms, map[string]string{"send": "bool", "recv": "bool", "pub": "bool", "sub": "bool", "list": "bool"}); p != "" {
			return op, p
		}
	}
	if d, ok := obj["delete"].(json.Number); ok && d != "0" && d != "1" {
		return op, "group.delete must be 0 or 1"
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
		Group   struct {
			GID     json.Number
			Name    string
			Members struct{ M string }
			Delete  int
		}
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
	case "groupadd":
		g := &FakeMesiboGroup{GID: strconv.Itoa(f.nextGID), Name: req.Group.Name, Members: map[string]bool{}}
		f.nextGID++
		f.groups[g.GID] = g
		return map[string]any{"op": op, "result": true, "group": map[string]any{"gid": f.nextGID - 1}}
	case "groupset", "groupeditmembers", "groupdel":
		g := f.groups[req.Group.GID.String()]
		if g == nil {
			return map[string]any{"op": op, "result": false, "error": "NOTFOUND", "cause": "no such group"}
		}
		switch op {
		case "groupset":
			g.Name = req.Group.Name
		case "groupdel":
			delete(f.groups, g.GID)
		default:
			for a := range strings.SplitSeq(req.Group.Members.M, ",") {
				if req.Group.Delete == 1 {
					delete(g.Members, a)
				} else {
					g.Members[a] = true
				}
			}
		}
		return map[string]any{"op": op, "result": true}
	default: // message
		if f.users[req.Message.From] == nil {
			return map[string]any{"op": op, "result": false, "error": "NOUSER", "cause": "from must be a valid user"}
		}
		f.nextMid++
		return map[string]any{"op": op, "mid": f.nextMid, "result": true}
	}
}
