package push

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// APNs hosts (HTTP/2 only).
const (
	APNsProductionURL = "https://api.push.apple.com"
	APNsSandboxURL    = "https://api.sandbox.push.apple.com"
)

// jwtReuse is how long one provider token is used: Apple refuses one
// older than an hour and one renewed more often than every 20 minutes.
const jwtReuse = 40 * time.Minute

// ParseAPNsKey reads a .p8 key file's contents (a PEM PKCS #8 P-256 key).
func ParseAPNsKey(data []byte) (*ecdsa.PrivateKey, error) {
	k, err := jwt.ParseECPrivateKeyFromPEM(data)
	if err != nil {
		return nil, errors.New("not a PEM PKCS #8 EC private key (the .p8 file from Apple's developer site)")
	}
	if k.Curve != elliptic.P256() {
		return nil, errors.New("not a P-256 key, which ES256 needs")
	}
	return k, nil
}

// APNsConfig configures the APNs provider.
type APNsConfig struct {
	Key    *ecdsa.PrivateKey
	KeyID  string // the key's id in Apple's developer account
	TeamID string
	Topic  string // the app's bundle id
	// BaseURL replaces both of Apple's hosts (a local server in tests);
	// empty: production or sandbox per device.
	BaseURL string
	Client  *http.Client
	Now     func() time.Time
	Log     *slog.Logger
}

// APNs sends background pushes with a provider token (an ES256 JWT, reused
// for jwtReuse) over HTTP/2.
type APNs struct {
	cfg APNsConfig

	mu       sync.Mutex
	token    string
	issuedAt time.Time
}

// NewAPNs returns the APNs provider.
func NewAPNs(cfg APNsConfig) *APNs { return &APNs{cfg: cfg} }

// Name returns APNsName.
func (*APNs) Name() string { return APNsName }

// providerToken returns the JWT in use, signing a new one when it is older
// than jwtReuse or when stale (the one APNs called expired) is the one in
// use.
func (a *APNs) providerToken(stale string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.cfg.Now()
	if a.token != "" && a.token != stale && now.Sub(a.issuedAt) < jwtReuse && !now.Before(a.issuedAt) {
		return a.token, nil
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": a.cfg.TeamID, "iat": now.Unix()})
	t.Header["kid"] = a.cfg.KeyID
	s, err := t.SignedString(a.cfg.Key)
	if err != nil {
		return "", err
	}
	a.token, a.issuedAt = s, now
	return s, nil
}

// Send posts one background push. A provider token that APNs calls
// expired is replaced and the push sent again, once; refused again, it is
// an alarm for the operator (the server's clock, or the key).
func (a *APNs) Send(ctx context.Context, n Notification) (Receipt, error) {
	rc, used, err := a.send(ctx, n, "")
	var e *Error
	if !errors.As(err, &e) || e.Reason != "ExpiredProviderToken" {
		return rc, err
	}
	rc, _, err = a.send(ctx, n, used)
	if errors.As(err, &e) && e.Reason == "ExpiredProviderToken" {
		a.cfg.Log.Error("ALARM apns: a freshly signed provider token is called expired; check the server's clock and the key (--apns-key-id, --apns-team-id)")
		e.Hold = true
	}
	return rc, err
}

func (a *APNs) send(ctx context.Context, n Notification, stale string) (Receipt, string, error) {
	tok, err := a.providerToken(stale)
	if err != nil {
		return Receipt{}, "", &Error{Provider: APNsName, Reason: "the provider token cannot be signed", Hold: true}
	}
	base := a.cfg.BaseURL
	switch {
	case base != "":
	case n.Sandbox:
		base = APNsSandboxURL
	default:
		base = APNsProductionURL
	}
	body, _ := json.Marshal(map[string]any{"aps": map[string]any{"content-available": 1}, "type": n.Type, "ts": n.TS})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+"/3/device/"+n.Token, bytes.NewReader(body))
	if err != nil {
		return Receipt{}, tok, &Error{Provider: APNsName, Reason: "the device token is not a URL path segment", Token: TokenRemove, Final: true}
	}
	h := req.Header
	h.Set("authorization", "bearer "+tok)
	h.Set("apns-topic", a.cfg.Topic)
	h.Set("apns-push-type", "background")
	h.Set("apns-priority", "5") // background pushes must not use 10
	h.Set("apns-expiration", strconv.FormatInt(a.cfg.Now().Add(TTL).Unix(), 10))
	h.Set("apns-collapse-id", n.Type)
	h.Set("content-type", "application/json")
	resp, err := a.cfg.Client.Do(req)
	if err != nil {
		return Receipt{}, tok, transient(APNsName, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
	rc := Receipt{HTTPStatus: resp.StatusCode, ID: resp.Header.Get("apns-id")}
	if resp.StatusCode == http.StatusOK {
		return rc, tok, nil
	}
	return rc, tok, apnsError(resp, raw, a.cfg.Now())
}

// apnsError maps APNs' error answer to what it means for the job and the
// token (Apple's "Handling notification responses from APNs").
func apnsError(resp *http.Response, raw []byte, now time.Time) *Error {
	var body struct {
		Reason    string `json:"reason"`
		Timestamp int64  `json:"timestamp"`
	}
	_ = json.Unmarshal(raw, &body)
	if body.Reason == "" {
		body.Reason = http.StatusText(resp.StatusCode)
	}
	e := &Error{Provider: APNsName, HTTPStatus: resp.StatusCode, Reason: body.Reason, RetryAfter: retryAfter(resp.Header, now)}
	switch {
	case body.Reason == "BadDeviceToken", body.Reason == "DeviceTokenNotForTopic", body.Reason == "TopicDisallowed":
		e.Token, e.Final = TokenRemove, true
	case resp.StatusCode == http.StatusGone:
		e.Token, e.Final = TokenRemove, true
		if body.Timestamp > 0 {
			e.InvalidSince = time.UnixMilli(body.Timestamp)
		}
	case body.Reason == "ExpiredProviderToken":
	case resp.StatusCode == http.StatusForbidden:
		// InvalidProviderToken, MissingProviderToken: the key, key id or
		// team id is wrong.
		e.Hold = true
	case resp.StatusCode == http.StatusTooManyRequests:
		e.RetryAfter = max(e.RetryAfter, quotaFloor)
	case resp.StatusCode >= 500:
	default:
		e.Final = true
	}
	return e
}
