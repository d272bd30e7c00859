// Package push sends Roster's data-only push messages to devices whose app
// is not holding the event stream open: Firebase Cloud Messaging (HTTP v1)
// and Apple's push service (token-based auth). Each provider is a few
// hundred lines over net/http, golang.org/x/oauth2 and golang-jwt: the
// Firebase Admin SDK would bring a large tree for one call.
package push

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Provider names, also the outbox channels of their jobs.
const (
	FCMName  = "fcm"
	APNsName = "apns"
)

// Message types the apps receive; the app syncs on receipt.
const (
	TypeContactJoined  = "contact_joined"
	TypeProfileChanged = "profile_changed"
	TypeGroupChanged   = "group_changed"
)

// TTL is how long a provider keeps a message for a device that is off:
// the notice only asks the app to sync, and is worthless after an hour.
const TTL = time.Hour

// quotaFloor is the shortest wait after a provider said its quota is
// exhausted.
const quotaFloor = time.Minute

// Notification is one push to one device. It carries no personal data:
// the type and the time are all the app needs to sync.
type Notification struct {
	Token string
	Type  string // TypeContactJoined, TypeProfileChanged or TypeGroupChanged
	TS    int64  // unix seconds of the notice
	// Sandbox sends through APNs' development environment (setnotify's
	// prod=0).
	Sandbox bool
}

// Provider sends notifications through one push service.
type Provider interface {
	// Name is FCMName or APNsName.
	Name() string
	// Send hands n to the provider. A failure is an *Error.
	Send(ctx context.Context, n Notification) (Receipt, error)
}

// Receipt is what the provider answered to one attempt.
type Receipt struct {
	HTTPStatus int
	ID         string // the provider's message id
}

// TokenVerdict says what a refusal means for the device's token.
type TokenVerdict int

// Token verdicts.
const (
	TokenKeep    TokenVerdict = iota
	TokenRemove               // the token is dead: removed from its session
	TokenDisable              // the token belongs elsewhere (another Firebase project): kept, never used
)

// Error is a refused or failed attempt.
type Error struct {
	Provider   string
	HTTPStatus int    // 0: no answer
	Reason     string // the provider's reason (UNREGISTERED, BadDeviceToken), or what failed
	Token      TokenVerdict
	// Final: retrying cannot help (a dead token, a message refused).
	Final bool
	// Hold: Roster's credentials or settings are refused; the job waits
	// for the operator instead of using up its attempts.
	Hold bool
	// RetryAfter is the provider's wait (at least a minute after a quota
	// error); 0: the worker's backoff.
	RetryAfter time.Duration
	// InvalidSince is when APNs found the token unregistered (410): a
	// token the app set again after it is kept.
	InvalidSince time.Time
}

func (e *Error) Error() string {
	if e.HTTPStatus == 0 {
		return e.Provider + ": " + e.Reason
	}
	return fmt.Sprintf("%s: HTTP %d %s", e.Provider, e.HTTPStatus, e.Reason)
}

// retryAfter reads a Retry-After header in seconds or as an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(min(s, 86400)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), 24*time.Hour)
	}
	return 0
}

// transient is a failure without an answer (a network error, a timeout):
// retried with backoff.
func transient(provider string, err error) *Error {
	return &Error{Provider: provider, Reason: "no answer: " + err.Error()}
}

// NewHTTPClient returns the client both providers use: HTTP/2 over TLS
// (APNs requires it; FCM multiplexes on it), one connection per host kept
// open between pushes, no redirects (they would resend credentials
// elsewhere).
func NewHTTPClient(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ForceAttemptHTTP2 = true
	t.MaxIdleConnsPerHost = 100
	t.IdleConnTimeout = time.Hour
	return &http.Client{Transport: t, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
