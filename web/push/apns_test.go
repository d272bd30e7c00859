package push

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const deviceToken = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// fakeAPNs is Apple's push service over TLS and HTTP/2, checking each
// request exactly.
type fakeAPNs struct {
	t     *testing.T
	key   *ecdsa.PublicKey
	srv   *httptest.Server
	clock *testClock

	mu     sync.Mutex
	jwts   []string
	bodies []string
	reply  func(jwt string, n int) (int, http.Header, string)
}

func newFakeAPNs(t *testing.T, key *ecdsa.PublicKey, clock *testClock) *fakeAPNs {
	f := &fakeAPNs{t: t, key: key, clock: clock}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.EnableHTTP2 = true
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPNs) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.ProtoMajor != 2 {
		f.t.Errorf("APNs request over %s, want HTTP/2", r.Proto)
	}
	h := r.Header
	if r.Method != http.MethodPost || r.URL.Path != "/3/device/"+deviceToken || h.Get("apns-topic") != "com.example.roster" ||
		h.Get("apns-push-type") != "background" || h.Get("apns-priority") != "5" || h.Get("apns-expiration") != strconv.FormatInt(f.clock.Now().Add(TTL).Unix(), 10) ||
		h.Get("content-type") != "application/json" {
		f.t.Errorf("request %s %s headers %v", r.Method, r.URL.Path, h)
	}
	bearer, _ := strings.CutPrefix(h.Get("authorization"), "bearer ")
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(bearer, claims, func(*jwt.Token) (any, error) { return f.key, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithoutClaimsValidation())
	if err != nil || tok.Header["kid"] != "KEYID12345" || claims["iss"] != "TEAMID1234" || claims["iat"] == nil {
		f.t.Errorf("provider token: %v header %v claims %v", err, tok.Header, claims)
	}
	f.jwts = append(f.jwts, bearer)
	b, _ := io.ReadAll(r.Body)
	f.bodies = append(f.bodies, string(b))
	status, hdr, body := http.StatusOK, http.Header{"Apns-Id": {"apns-id-1"}}, ""
	if f.reply != nil {
		status, hdr, body = f.reply(bearer, len(f.bodies))
	}
	for k, v := range hdr {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	io.WriteString(w, body)
}

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func testAPNs(t *testing.T) (*APNs, *fakeAPNs, *testClock) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	parsed, err := ParseAPNsKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{now: fixedNow()}
	f := newFakeAPNs(t, &key.PublicKey, clock)
	client := NewHTTPClient(5 * time.Second)
	client.Transport.(*http.Transport).TLSClientConfig.RootCAs = x509.NewCertPool()
	client.Transport.(*http.Transport).TLSClientConfig.RootCAs.AddCert(f.srv.Certificate())
	a := NewAPNs(APNsConfig{Key: parsed, KeyID: "KEYID12345", TeamID: "TEAMID1234", Topic: "com.example.roster",
		BaseURL: f.srv.URL, Client: client, Now: clock.Now, Log: slog.New(slog.DiscardHandler)})
	return a, f, clock
}

func TestAPNsBackgroundPushOverHTTP2WithReusedJWT(t *testing.T) {
	a, f, clock := testAPNs(t)
	n := Notification{Token: deviceToken, Type: TypeContactJoined, TS: 1_799_999_990}
	for _, step := range []time.Duration{0, 39 * time.Minute, 2 * time.Minute} {
		clock.Add(step)
		rc, err := a.Send(context.Background(), n)
		if err != nil || rc.HTTPStatus != 200 || rc.ID != "apns-id-1" {
			t.Fatalf("send: %+v %v", rc, err)
		}
	}
	if len(f.jwts) != 3 || f.jwts[0] != f.jwts[1] || f.jwts[1] == f.jwts[2] {
		t.Errorf("JWTs: the first two (39 minutes apart) must be one, the third (41 minutes after the first) a new one: %d sent, equal %v %v",
			len(f.jwts), f.jwts[0] == f.jwts[1], f.jwts[1] == f.jwts[2])
	}
	if f.bodies[0] != `{"aps":{"content-available":1},"ts":1799999990,"type":"contact_joined"}` {
		t.Errorf("body %s", f.bodies[0])
	}
}

// ExpiredProviderToken: a new JWT once and the push sent again; refused
// again, the job is held (an alarm, not a retry loop).
func TestAPNsExpiredProviderToken(t *testing.T) {
	a, f, _ := testAPNs(t)
	var first string
	f.reply = func(bearer string, n int) (int, http.Header, string) {
		if n == 1 {
			first = bearer
		}
		if bearer == first {
			return 403, nil, `{"reason":"ExpiredProviderToken"}`
		}
		return 200, http.Header{"Apns-Id": {"apns-id-2"}}, ""
	}
	n := Notification{Token: deviceToken, Type: TypeProfileChanged, TS: 1}
	if rc, err := a.Send(context.Background(), n); err != nil || rc.ID != "apns-id-2" {
		t.Fatalf("send: %+v %v", rc, err)
	}
	if len(f.jwts) != 2 || f.jwts[0] == f.jwts[1] {
		t.Fatalf("want two attempts with two JWTs, got %d", len(f.jwts))
	}
	f.reply = func(string, int) (int, http.Header, string) { return 403, nil, `{"reason":"ExpiredProviderToken"}` }
	_, err := a.Send(context.Background(), n)
	var e *Error
	if !errors.As(err, &e) || !e.Hold || e.Final || len(f.jwts) != 4 {
		t.Errorf("refused twice: %v (%+v), %d attempts", err, e, len(f.jwts))
	}
}

func TestAPNsErrorRows(t *testing.T) {
	gone := time.UnixMilli(1_799_000_000_000)
	for _, tc := range []struct {
		name    string
		status  int
		header  http.Header
		body    string
		verdict TokenVerdict
		final   bool
		hold    bool
		after   time.Duration
		since   time.Time
	}{
		{"bad device token", 400, nil, `{"reason":"BadDeviceToken"}`, TokenRemove, true, false, 0, time.Time{}},
		{"not for topic", 400, nil, `{"reason":"DeviceTokenNotForTopic"}`, TokenRemove, true, false, 0, time.Time{}},
		{"topic disallowed", 400, nil, `{"reason":"TopicDisallowed"}`, TokenRemove, true, false, 0, time.Time{}},
		{"unregistered", 410, nil, `{"reason":"Unregistered","timestamp":1799000000000}`, TokenRemove, true, false, 0, gone},
		{"bad payload", 400, nil, `{"reason":"PayloadEmpty"}`, TokenKeep, true, false, 0, time.Time{}},
		{"invalid provider token", 403, nil, `{"reason":"InvalidProviderToken"}`, TokenKeep, false, true, 0, time.Time{}},
		{"too many requests", 429, http.Header{"Retry-After": {"3"}}, `{"reason":"TooManyRequests"}`, TokenKeep, false, false, time.Minute, time.Time{}},
		{"unavailable", 503, nil, `{"reason":"ServiceUnavailable"}`, TokenKeep, false, false, 0, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, f, _ := testAPNs(t)
			f.reply = func(string, int) (int, http.Header, string) { return tc.status, tc.header, tc.body }
			rc, err := a.Send(context.Background(), Notification{Token: deviceToken, Type: TypeContactJoined, TS: 1})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if rc.HTTPStatus != tc.status || e.Token != tc.verdict || e.Final != tc.final || e.Hold != tc.hold ||
				e.RetryAfter != tc.after || !e.InvalidSince.Equal(tc.since) {
				t.Errorf("got status %d %+v", rc.HTTPStatus, e)
			}
		})
	}
}

func TestParseAPNsKeyRefusesOtherKeys(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	for _, data := range [][]byte{[]byte("nope"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})} {
		if _, err := ParseAPNsKey(data); err == nil {
			t.Errorf("accepted %.20q", data)
		}
	}
}
