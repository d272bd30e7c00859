package delivery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxReplyBytes bounds how much of a provider's reply is read.
const maxReplyBytes = 64 << 10

// ProviderError is a failure reported by, or on the way to, a provider. Its
// text is what the outbox and the dashboard show; it never contains
// credentials.
type ProviderError struct {
	Channel    string
	HTTPStatus int    // 0 when no HTTP answer arrived
	Code       string // the provider's own error code, if it gave one
	Msg        string
}

func (e *ProviderError) Error() string {
	var b strings.Builder
	b.WriteString(e.Channel)
	b.WriteString(": ")
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, "HTTP %d", e.HTTPStatus)
		if e.Code != "" {
			b.WriteString(", error " + e.Code)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// transientStatus reports whether an HTTP status may succeed when retried.
func transientStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500
}

// classify wraps a provider error as permanent unless its status says a
// retry may help.
func classify(pe *ProviderError) error {
	if pe.HTTPStatus == 0 || transientStatus(pe.HTTPStatus) {
		return pe
	}
	return &PermanentError{Err: pe}
}

// providerAnswer is what a channel read from a provider's JSON reply: the
// message's reference on success; otherwise the provider's message (empty
// when unreadable), its error code, and whether that code means "never
// retry" or "retry later" whatever the HTTP status says.
type providerAnswer struct {
	ref                  string
	msg, code            string
	permanent, throttled bool
}

// settle turns a provider's HTTP reply into the receipt and error of Send.
// An accepted request whose reference cannot be read is still a success:
// retrying could send the code twice.
func settle(channel string, status int, reply []byte, a providerAnswer) (Receipt, error) {
	rc := Receipt{HTTPStatus: status}
	if status >= 200 && status < 300 {
		rc.ProviderRef = a.ref
		if rc.ProviderRef == "" {
			rc.ProviderRef = "(unreadable reply)"
		}
		return rc, nil
	}
	pe := &ProviderError{Channel: channel, HTTPStatus: status, Code: a.code, Msg: a.msg}
	switch {
	case a.msg == "":
		pe.Code, pe.Msg = "", "unreadable reply "+snippet(reply)
	case a.permanent:
		return rc, &PermanentError{Err: pe}
	case a.throttled:
		return rc, pe
	}
	return rc, classify(pe)
}

// do sends req and reads the reply (bounded). A transport failure becomes a
// transient ProviderError without the URL (which may carry an account id)
// and without any header.
func do(ctx context.Context, client *http.Client, channel string, req *http.Request) (int, []byte, error) {
	res, err := client.Do(req.WithContext(ctx))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		msg := "request failed: " + err.Error()
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			msg = "no answer in time (" + err.Error() + ")"
		}
		return 0, nil, &ProviderError{Channel: channel, Msg: msg}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxReplyBytes))
	if err != nil {
		return res.StatusCode, nil, &ProviderError{Channel: channel, HTTPStatus: res.StatusCode,
			Msg: "the reply could not be read: " + err.Error()}
	}
	return res.StatusCode, body, nil
}

// snippet quotes the start of an unreadable reply so an operator can see
// what came back (an HTML error page, a proxy's text), printable only.
func snippet(b []byte) string {
	const n = 120
	s := strings.ToValidUTF8(string(b), "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > n {
		s = string([]rune(s)[:n]) + "…"
	}
	if s == "" {
		return "(empty)"
	}
	return fmt.Sprintf("%q", s)
}
