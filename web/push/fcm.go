package push

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/jwt"
)

// DefaultFCMBaseURL is FCM's HTTP v1 API.
const DefaultFCMBaseURL = "https://fcm.googleapis.com"

// fcmScope is the OAuth scope of sending messages.
const fcmScope = "https://www.googleapis.com/auth/firebase.messaging"

// googleTokenURI is the token endpoint of a credentials file without one.
const googleTokenURI = "https://oauth2.googleapis.com/token"

// FCMCredentials is the part of a Firebase service-account JSON file that
// sending needs.
type FCMCredentials struct {
	Type         string `json:"type"`
	ProjectID    string `json:"project_id"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
	ClientEmail  string `json:"client_email"`
	TokenURI     string `json:"token_uri"`
}

// ParseFCMCredentials reads a service-account JSON file's contents. Its
// token_uri is where access tokens are asked for (Google's by default).
func ParseFCMCredentials(data []byte) (*FCMCredentials, error) {
	var c FCMCredentials
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, errors.New("not a service-account JSON file")
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"project_id", c.ProjectID}, {"private_key", c.PrivateKey}, {"client_email", c.ClientEmail}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if c.Type != "service_account" {
		return nil, fmt.Errorf("its type is %q, not service_account (download a key of a service account from the Firebase console)", c.Type)
	}
	if len(missing) > 0 {
		return nil, errors.New("it has no " + strings.Join(missing, ", "))
	}
	if c.TokenURI == "" {
		c.TokenURI = googleTokenURI
	}
	if u, err := url.Parse(c.TokenURI); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("its token_uri is not an http(s) URL")
	}
	// The key is checked now, not at the first push.
	if !isRSAKey(c.PrivateKey) {
		return nil, errors.New("its private_key is not a PEM RSA key")
	}
	return &c, nil
}

// isRSAKey reports whether s is a PEM RSA private key (PKCS #8 or #1), as
// the token exchange signs with.
func isRSAKey(s string) bool {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return false
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		_, ok := k.(*rsa.PrivateKey)
		return ok
	}
	_, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	return err == nil
}

// FCM sends through Firebase Cloud Messaging's HTTP v1 API with an OAuth
// access token of the service account (the JWT-bearer flow, token reused
// until it expires).
type FCM struct {
	endpoint string // .../v1/projects/ID/messages:send
	client   *http.Client
	conf     *jwt.Config
	now      func() time.Time

	mu     sync.Mutex
	tokens oauth2.TokenSource
}

// NewFCM returns the FCM provider. client makes both the token exchange
// and the sends.
func NewFCM(c *FCMCredentials, baseURL string, client *http.Client, now func() time.Time) *FCM {
	f := &FCM{
		endpoint: strings.TrimRight(baseURL, "/") + "/v1/projects/" + url.PathEscape(c.ProjectID) + "/messages:send",
		client:   client, now: now,
		conf: &jwt.Config{Email: c.ClientEmail, PrivateKey: []byte(c.PrivateKey), PrivateKeyID: c.PrivateKeyID,
			Scopes: []string{fcmScope}, TokenURL: c.TokenURI},
	}
	f.tokens = f.newTokenSource()
	return f
}

func (f *FCM) newTokenSource() oauth2.TokenSource {
	return f.conf.TokenSource(context.WithValue(context.Background(), oauth2.HTTPClient, f.client))
}

// Name returns FCMName.
func (*FCM) Name() string { return FCMName }

type fcmRequest struct {
	Message fcmMessage `json:"message"`
}

type fcmMessage struct {
	Token   string            `json:"token"`
	Data    map[string]string `json:"data"`
	Android fcmAndroid        `json:"android"`
	APNs    fcmAPNs           `json:"apns"`
}

type fcmAndroid struct {
	Priority    string `json:"priority"`
	CollapseKey string `json:"collapse_key"`
	TTL         string `json:"ttl"`
}

// fcmAPNs is what an iOS app that uses Firebase gets: a background push.
type fcmAPNs struct {
	Headers map[string]string `json:"headers"`
	Payload map[string]any    `json:"payload"`
}

// fcmBody is the message for n: data only (the app shows nothing by
// itself and syncs), high priority on Android for joins (the one notice a
// person waits for), a collapse key per type, an hour's TTL.
func (f *FCM) fcmBody(n Notification) ([]byte, error) {
	priority := "NORMAL"
	if n.Type == TypeContactJoined {
		priority = "HIGH"
	}
	return json.Marshal(fcmRequest{Message: fcmMessage{
		Token:   n.Token,
		Data:    map[string]string{"type": n.Type, "ts": strconv.FormatInt(n.TS, 10)},
		Android: fcmAndroid{Priority: priority, CollapseKey: n.Type, TTL: strconv.Itoa(int(TTL.Seconds())) + "s"},
		APNs: fcmAPNs{
			Headers: map[string]string{"apns-push-type": "background", "apns-priority": "5", "apns-collapse-id": n.Type,
				"apns-expiration": strconv.FormatInt(f.now().Add(TTL).Unix(), 10)},
			Payload: map[string]any{"aps": map[string]any{"content-available": 1}},
		},
	}})
}

// Send posts one message.
func (f *FCM) Send(ctx context.Context, n Notification) (Receipt, error) {
	body, err := f.fcmBody(n)
	if err != nil {
		return Receipt{}, &Error{Provider: FCMName, Reason: "the message cannot be encoded", Final: true}
	}
	f.mu.Lock()
	tokens := f.tokens
	f.mu.Unlock()
	tok, err := tokens.Token()
	if err != nil {
		return Receipt{}, f.tokenError(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.endpoint, bytes.NewReader(body))
	if err != nil {
		return Receipt{}, &Error{Provider: FCMName, Reason: "bad --fcm-base-url", Hold: true}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := f.client.Do(req)
	if err != nil {
		return Receipt{}, transient(FCMName, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	rc := Receipt{HTTPStatus: resp.StatusCode}
	if resp.StatusCode == http.StatusOK {
		var ok struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(raw, &ok)
		rc.ID = ok.Name
		return rc, nil
	}
	if resp.StatusCode == http.StatusUnauthorized {
		// The access token was refused (revoked, or expired early): the
		// next attempt asks for a new one.
		f.mu.Lock()
		if f.tokens == tokens {
			f.tokens = f.newTokenSource()
		}
		f.mu.Unlock()
	}
	return rc, fcmError(resp, raw, f.now())
}

// tokenError is a failed token exchange: a refusal (400/401/403: the
// service account's key is revoked or wrong) waits for the operator, other
// failures are retried.
func (f *FCM) tokenError(err error) *Error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		e := &Error{Provider: FCMName, HTTPStatus: re.Response.StatusCode, Reason: "the OAuth token exchange was refused"}
		if re.ErrorCode != "" {
			e.Reason += " (" + re.ErrorCode + ")"
		}
		switch re.Response.StatusCode {
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden:
			e.Hold = true
		}
		return e
	}
	return &Error{Provider: FCMName, Reason: "the OAuth token exchange failed"}
}

// fcmError maps FCM's error answer to what it means for the job and the
// token (https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode).
func fcmError(resp *http.Response, raw []byte, now time.Time) *Error {
	var body struct {
		Error struct {
			Message string `json:"message"`
			Status  string `json:"status"`
			Details []struct {
				Type            string `json:"@type"`
				ErrorCode       string `json:"errorCode"`
				FieldViolations []struct {
					Field string `json:"field"`
				} `json:"fieldViolations"`
			} `json:"details"`
		} `json:"error"`
	}
	_ = json.Unmarshal(raw, &body)
	code, aboutToken := body.Error.Status, false
	for _, d := range body.Error.Details {
		if d.ErrorCode != "" {
			code = d.ErrorCode
		}
		for _, v := range d.FieldViolations {
			aboutToken = aboutToken || v.Field == "message.token"
		}
	}
	aboutToken = aboutToken || strings.Contains(strings.ToLower(body.Error.Message), "registration token")
	if code == "" {
		code = http.StatusText(resp.StatusCode)
	}
	e := &Error{Provider: FCMName, HTTPStatus: resp.StatusCode, Reason: code, RetryAfter: retryAfter(resp.Header, now)}
	switch {
	case code == "UNREGISTERED":
		e.Token, e.Final = TokenRemove, true
	case code == "INVALID_ARGUMENT" && aboutToken:
		e.Token, e.Final = TokenRemove, true
		e.Reason += " (the token)"
	case code == "SENDER_ID_MISMATCH":
		e.Token, e.Final = TokenDisable, true
	case code == "QUOTA_EXCEEDED" || resp.StatusCode == http.StatusTooManyRequests:
		e.RetryAfter = max(e.RetryAfter, quotaFloor)
	case code == "THIRD_PARTY_AUTH_ERROR", resp.StatusCode == http.StatusForbidden:
		// Firebase's APNs credentials, or the project's permission: the
		// operator's to fix.
		e.Hold = true
	case resp.StatusCode == http.StatusUnauthorized:
		// A new access token is asked for on the next attempt.
	case resp.StatusCode >= 500:
	default:
		e.Final = true // the message itself is refused: sending it again cannot help
	}
	return e
}
