// Package mesibo is a client of mesibo's backend API: it creates users and
// their tokens (useradd), deletes tokens and users (deltoken, deluser) and
// sends messages (message). Every call is a JSON POST to one URL (mesibo
// cloud, or an on-premise server) whose body carries the app token: the app
// token is never put in a URL, a log line or an error text.
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
	"strings"
	"time"
	"unicode"

	"roster/models"
	"roster/web/delivery"
)

// DefaultAPIURL is mesibo cloud's backend API.
const DefaultAPIURL = "https://api.mesibo.com/api.php"

// Client calls mesibo's backend API.
type Client struct {
	URL      string
	AppToken string
	HTTP     *http.Client // its Timeout bounds each call
}

// Error is a failure of a mesibo call. Its text is safe to log and to store
// in the audit log.
type Error struct {
	Op         string
	HTTPStatus int    // 0 when no HTTP answer arrived
	Code       string // mesibo's `error` (e.g. AUTHFAIL)
	Cause      string // mesibo's `cause`, or what went wrong on the way
	Transient  bool   // a retry may succeed (timeouts, 5xx)
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

// reply is the common shape of mesibo's answers. result is a boolean in
// mesibo's API (not the demo protocol's strings).
type reply struct {
	Op     string          `json:"op"`
	Result *bool           `json:"result"`
	Error  string          `json:"error"`
	Cause  json.RawMessage `json:"cause"`
	User   *struct {
		UID   json.Number `json:"uid"`
		Token string      `json:"token"`
	} `json:"user"`
}

// call posts one op and returns the decoded reply when result is true.
func (c *Client) call(ctx context.Context, op string, params map[string]any) (*reply, error) {
	body := map[string]any{"op": op, "token": c.AppToken}
	for k, v := range params {
		body[k] = v
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, &Error{Op: op, Cause: err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(b))
	if err != nil {
		return nil, &Error{Op: op, Cause: "bad API URL"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "Roster")
	res, err := c.HTTP.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		cause := "request failed: " + err.Error()
		if errors.Is(err, context.DeadlineExceeded) || ue != nil && ue.Timeout() {
			cause = "no answer in time"
		}
		return nil, &Error{Op: op, Cause: cause, Transient: true}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, &Error{Op: op, HTTPStatus: res.StatusCode, Cause: "the reply could not be read", Transient: true}
	}
	var r reply
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil || r.Result == nil {
		return nil, &Error{Op: op, HTTPStatus: res.StatusCode, Transient: res.StatusCode >= 500 || res.StatusCode == 429,
			Cause: "unreadable reply " + c.snippet(raw)}
	}
	if !*r.Result {
		code := r.Error
		if code == "" {
			code = "FAILED"
		}
		return nil, &Error{Op: op, HTTPStatus: res.StatusCode, Code: c.clean(code, 64), Cause: c.clean(causeText(r.Cause), 300),
			Transient: res.StatusCode >= 500}
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return nil, &Error{Op: op, HTTPStatus: res.StatusCode, Cause: "unexpected HTTP status", Transient: res.StatusCode >= 500}
	}
	return &r, nil
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

// User is a mesibo user and its new token.
type User struct {
	UID   string
	Token string
}

// AddUser creates the user, or refreshes an existing one, and returns a new
// token for the app: {"op":"useradd","token":APP_TOKEN,"user":{"address":…,
// "name":…,"token":{"appid":…,"expiry":minutes}}}.
func (c *Client) AddUser(ctx context.Context, address, name, appID string, expiryMinutes int64) (User, error) {
	r, err := c.call(ctx, "useradd", map[string]any{"user": map[string]any{
		"address": address, "name": name,
		"token": map[string]any{"appid": appID, "expiry": expiryMinutes},
	}})
	if err != nil {
		return User{}, err
	}
	if r.User == nil || r.User.UID.String() == "" || len(r.User.Token) < 16 {
		return User{}, &Error{Op: "useradd", Cause: "the reply has no user uid and token"}
	}
	return User{UID: r.User.UID.String(), Token: r.User.Token}, nil
}

// DeleteToken deletes one user token: {"op":"deltoken","token":APP_TOKEN,
// "user":{"uid":…,"token":USER_TOKEN}}. A token mesibo no longer knows
// counts as deleted.
func (c *Client) DeleteToken(ctx context.Context, uid, userToken string) error {
	_, err := c.call(ctx, "deltoken", map[string]any{"user": map[string]any{"uid": uid, "token": userToken}})
	return notFoundIsDone(err)
}

// DeleteUser deletes the user and all its tokens: {"op":"deluser",
// "token":APP_TOKEN,"user":{"uid":…,"address":…}}.
func (c *Client) DeleteUser(ctx context.Context, uid, address string) error {
	_, err := c.call(ctx, "deluser", map[string]any{"user": map[string]any{"uid": uid, "address": address}})
	return notFoundIsDone(err)
}

// Message sends a message from one address to another: {"op":"message",
// "token":APP_TOKEN,"from":…,"to":…,"type":…,"expiry":seconds,"flag":…,
// "msg":…}.
func (c *Client) Message(ctx context.Context, m Message) error {
	_, err := c.call(ctx, "message", map[string]any{
		"from": m.From, "to": m.To, "type": m.Type, "expiry": m.ExpirySeconds, "flag": m.Flag, "msg": m.Body,
	})
	return err
}

// Message is one message sent through mesibo.
type Message struct {
	From, To      string
	Type          int
	ExpirySeconds int
	Flag          int
	Body          string
}

func notFoundIsDone(err error) error {
	var me *Error
	if errors.As(err, &me) && (me.Code == "NOUSER" || me.Code == "NOTOKEN" || me.Code == "NOTFOUND") {
		return nil
	}
	return err
}

// Issuer issues access tokens with useradd (it satisfies models.TokenIssuer).
type Issuer struct{ Client *Client }

// IssueToken creates or refreshes the user at mesibo and returns its new token.
func (i Issuer) IssueToken(ctx context.Context, req models.IssueRequest) (models.IssuedToken, error) {
	minutes := max(int64(req.Lifetime/time.Minute), 1)
	u, err := i.Client.AddUser(ctx, req.Address, req.Name, req.AppID, minutes)
	if err != nil {
		return models.IssuedToken{}, err
	}
	return models.IssuedToken{UID: u.UID, Token: u.Token}, nil
}

// JobSender is the outbox channel "mesibo": it deletes revoked tokens
// (deltoken) and deleted users (deluser) at mesibo, and sends contact
// notices as messages (type 1, one-hour expiry, from From), with the
// outbox's retries and attempt records.
type JobSender struct {
	Client  *Client
	SealKey []byte
	From    string // sender address of contact notices
}

// Name returns the outbox channel of mesibo jobs.
func (JobSender) Name() string { return models.MesiboChannel }

// Send runs one job.
func (r JobSender) Send(ctx context.Context, m delivery.Message) (delivery.Receipt, error) {
	var job models.MesiboJob
	if err := json.Unmarshal([]byte(m.Body), &job); err != nil {
		return delivery.Receipt{}, &delivery.PermanentError{Err: errors.New("mesibo: the job is unreadable")}
	}
	var err error
	switch job.Op {
	case "deltoken":
		token, uerr := models.UnsealToken(r.SealKey, job.TokenSealed)
		if uerr != nil {
			return delivery.Receipt{}, &delivery.PermanentError{Err: fmt.Errorf("mesibo deltoken: %w", uerr)}
		}
		err = r.Client.DeleteToken(ctx, job.UID, token)
	case "deluser":
		err = r.Client.DeleteUser(ctx, job.UID, job.Address)
	case "message":
		err = r.Client.Message(ctx, Message{From: r.From, To: job.Address, Type: 1, ExpirySeconds: 3600, Body: job.Msg})
	default:
		return delivery.Receipt{}, &delivery.PermanentError{Err: fmt.Errorf("mesibo: unknown job %q", job.Op)}
	}
	var me *Error
	if errors.As(err, &me) {
		rc := delivery.Receipt{HTTPStatus: me.HTTPStatus}
		if me.Transient {
			return rc, err
		}
		return rc, &delivery.PermanentError{Err: err}
	}
	return delivery.Receipt{HTTPStatus: http.StatusOK}, err
}
