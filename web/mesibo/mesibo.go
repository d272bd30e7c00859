// Package mesibo is a client of mesibo's backend API in its documented
// JSON form: it creates users and their tokens (useradd), deletes users
// (userdel) and sends messages (message).
//
// Sources:
//   - https://docs.mesibo.com/api/backend-api/ : every request is a JSON
//     POST (Content-Type: application/json) to https://api.mesibo.com/backend/
//     (or an on-premise server's URL) with "op" and the app "token"; every
//     reply has "op", a boolean "result" and, on failure, "error".
//   - https://docs.mesibo.com/api/backend-api/user-management : useradd with
//     the user under "user" and the access token's parameters under
//     "user.token" (appid; expiry in minutes); without "user.token" no access
//     token is generated (the user is only created or updated).
//   - https://docs.mesibo.com/api/backend-api/messaging : message with its
//     fields under "message" (from, to, type, expiry in seconds, flags,
//     forced, message); "from" MUST be an existing user; the reply has "mid".
//   - github.com/mesibo/samples backend-api/php/mesiboapi.php and
//     mesiboconfig.php: the same JSON POST to $mesibobaseurl =
//     "https://api.mesibo.com/backend/", token expiry "in minutes".
//   - userdel by uid: named in the backend API overview
//     ("op=userdel&...&uid=456"); its JSON nesting under "user" follows the
//     pattern of the other user ops and could not be read in full.
//
// The app token travels only in the request body: never in a URL, a log
// line or an error text.
package mesibo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// DefaultAPIURL is mesibo cloud's documented backend API (docs.mesibo.com
// "Mesibo Backend API URL"; mesiboconfig.php $mesibobaseurl). The old
// https://api.mesibo.com/api.php took form fields, not this JSON.
const DefaultAPIURL = "https://api.mesibo.com/backend/"

// Client calls mesibo's backend API.
type Client struct {
	URL      string
	AppToken string
	HTTP     *http.Client // its Timeout bounds each call
	Health   *Health      // records configuration failures; may be nil
}

// Kind says what a failure means for the caller.
type Kind int

const (
	// Transient: no answer, a 5xx or a 429; the same request may succeed later.
	Transient Kind = iota
	// Config: the request or its credentials are wrong (BADOP, a refused app
	// token, an unknown error code, a reply that is not the API's JSON):
	// retrying cannot help until the operator fixes the configuration, and
	// the failure must be visible (mesibo mode is marked degraded).
	Config
	// Rejected: mesibo refused this one request for a reason of its own
	// data (an unknown user), not of the configuration.
	Rejected
)

// Error is a failure of a mesibo call. Its text is safe to log and to store
// in the audit log.
type Error struct {
	Op         string
	HTTPStatus int    // 0 when no HTTP answer arrived
	Code       string // mesibo's `error` (e.g. AUTHFAIL)
	Cause      string // mesibo's `cause`, or what went wrong on the way
	Kind       Kind
	RetryAfter time.Duration // from a 429's Retry-After
}

func (e *Error) Error() string {
	s := "mesibo " + e.Op + ": "
	if e.Code != "" {
		s += e.Code
		if e.Cause != "" {
			s += " (" + e.Cause + ")"
		}
		return s
	}
	if e.HTTPStatus != 0 {
		s += fmt.Sprintf("HTTP %d: ", e.HTTPStatus)
	}
	return s + e.Cause
}

// configCode tells the error codes that say the request itself is wrong or
// unauthorized (mesibo's backend API overview shows
// {"result":false,"error":"BADOP"}; AUTHFAIL is the refused app token).
// Codes outside both lists count as configuration failures too: an
// unexplained refusal must be loud, not silently permanent.
func configCode(code string) bool {
	switch code {
	case "BADOP", "AUTHFAIL", "BADTOKEN", "NOTOKEN", "TOKENBREACH",
		"BADAPP", "NOAPP", "MISSINGPARA", "BADPARA", "BADREQUEST":
		return true
	}
	return false
}

// rejectCode tells the codes that concern the user or message of one request.
func rejectCode(code string) bool {
	switch code {
	case "NOUSER", "BADUSER", "NOTFOUND", "INVALIDUSER":
		return true
	}
	return false
}

func kindOf(code string) Kind {
	if rejectCode(code) && !configCode(code) {
		return Rejected
	}
	return Config
}

// flexString reads a JSON string or number (mesibo's replies have carried
// uids as both).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexString(n.String())
	return nil
}

// reply is the common shape of mesibo's answers. result is a boolean in
// mesibo's API (not the demo protocol's strings).
type reply struct {
	Op     string          `json:"op"`
	Result *bool           `json:"result"`
	Error  string          `json:"error"`
	Cause  json.RawMessage `json:"cause"`
	Mid    flexString      `json:"mid"`
	User   *struct {
		UID   flexString `json:"uid"`
		Token string     `json:"token"`
	} `json:"user"`
	Group *struct {
		GID flexString `json:"gid"`
	} `json:"group"` // groupadd
}

// request is the documented envelope: op and app token first, then the
// op's object under its own key.
type request struct {
	Op      string      `json:"op"`
	Token   string      `json:"token"`
	User    *userReq    `json:"user,omitempty"`
	Message *messageReq `json:"message,omitempty"`
	Group   *groupReq   `json:"group,omitempty"`
}

type userReq struct {
	UID     any       `json:"uid,omitempty"` // userdel
	Address string    `json:"address,omitempty"`
	Name    string    `json:"name,omitempty"`
	Token   *tokenReq `json:"token,omitempty"`
}

type tokenReq struct {
	AppID  string `json:"appid"`
	Expiry int64  `json:"expiry"` // minutes (user-management page; mesiboapi.php)
}

type messageReq struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Type    int    `json:"type"`
	Expiry  int    `json:"expiry"` // seconds (messaging page)
	Flags   int    `json:"flags"`
	Forced  bool   `json:"forced"`
	Message string `json:"message"`
}

// call posts one request and returns the decoded reply when result is true.
func (c *Client) call(ctx context.Context, req request) (*reply, error) {
	r, err := c.do(ctx, req)
	var me *Error
	switch {
	case err == nil:
		c.Health.ok(req.Op)
	case errors.As(err, &me) && me.Kind == Config:
		c.Health.fail(req.Op, me)
	}
	return r, err
}

func (c *Client) do(ctx context.Context, req request) (*reply, error) {
	op := req.Op
	req.Token = c.AppToken
	b, err := json.Marshal(req)
	if err != nil {
		return nil, &Error{Op: op, Cause: err.Error(), Kind: Config}
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(b))
	if err != nil {
		return nil, &Error{Op: op, Cause: "bad API URL", Kind: Config}
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", "Roster")
	res, err := c.HTTP.Do(hreq)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		cause := "request failed: " + err.Error()
		if errors.Is(err, context.DeadlineExceeded) || ue != nil && ue.Timeout() {
			cause = "no answer in time"
		}
		return nil, &Error{Op: op, Cause: cause, Kind: Transient}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, &Error{Op: op, HTTPStatus: res.StatusCode, Cause: "the reply could not be read", Kind: Transient}
	}
	switch st := res.StatusCode; {
	case st == http.StatusTooManyRequests:
		return nil, &Error{Op: op, HTTPStatus: st, Cause: "rate limited", Kind: Transient,
			RetryAfter: retryAfter(res.Header.Get("Retry-After"), time.Now())}
	case st >= 500:
		return nil, &Error{Op: op, HTTPStatus: st, Cause: "unreadable reply " + c.snippet(raw), Kind: Transient}
	case st >= 300 && st < 400:
		// Redirects are not followed (the body carries the app token);
		// a redirect means the configured URL is not the API's.
		return nil, &Error{Op: op, HTTPStatus: st, Kind: Config,
			Cause: "redirected to " + c.clean(redactedLocation(res.Header.Get("Location")), 200) + "; set --mesibo-api-url to the backend API URL"}
	}
	var r reply
	if err := json.Unmarshal(raw, &r); err != nil || r.Result == nil {
		return nil, &Error{Op: op, HTTPStatus: res.StatusCode, Kind: Config, Cause: "unreadable reply " + c.snippet(raw)}
	}
	if !*r.Result {
		code := c.clean(r.Error, 64)
		if code == "" {
			code = "FAILED"
		}
		return nil, &Error{Op: op, HTTPStatus: res.StatusCode, Code: code, Cause: c.clean(causeText(r.Cause), 300), Kind: kindOf(code)}
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return nil, &Error{Op: op, HTTPStatus: res.StatusCode, Cause: "unexpected HTTP status", Kind: Config}
	}
	return &r, nil
}

// retryAfter reads a Retry-After header (seconds or an HTTP date), bounded
// to [1 s, 1 h]; 0 when absent or unreadable (the caller's backoff applies).
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	} else {
		return 0
	}
	return min(max(d, time.Second), time.Hour)
}

func redactedLocation(loc string) string {
	u, err := url.Parse(loc)
	if err != nil || loc == "" {
		return "(no Location)"
	}
	u.RawQuery, u.User, u.Fragment = "", nil, ""
	return u.String()
}

func causeText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// clean makes provider text safe to log: printable, bounded, and without
// the app token should a server ever echo it.
func (c *Client) clean(s string, n int) string {
	if c.AppToken != "" {
		s = strings.ReplaceAll(s, c.AppToken, "[app token]")
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, strings.ToValidUTF8(s, "?"))
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		s = string(r[:n]) + "…"
	}
	return s
}

func (c *Client) snippet(b []byte) string {
	s := c.clean(string(b), 120)
	if s == "" {
		return "(empty)"
	}
	return fmt.Sprintf("%q", s)
}
