package push

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// fakeGoogle is the OAuth token endpoint and FCM's send endpoint, checking
// each request exactly.
type fakeGoogle struct {
	t   *testing.T
	key *rsa.PublicKey
	srv *httptest.Server

	mu        sync.Mutex
	exchanges int
	sends     []string // request bodies
	reply     func(n int) (int, http.Header, string)
}

func newFakeGoogle(t *testing.T, key *rsa.PublicKey) *fakeGoogle {
	f := &fakeGoogle{t: t, key: key}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGoogle) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.URL.Path {
	case "/token":
		f.exchanges++
		if err := r.ParseForm(); err != nil || r.Method != http.MethodPost ||
			r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
			f.t.Errorf("token exchange: %s form %v", r.Method, r.PostForm)
		}
		claims := jwt.MapClaims{}
		tok, err := jwt.ParseWithClaims(r.PostForm.Get("assertion"), claims, func(*jwt.Token) (any, error) { return f.key, nil },
			jwt.WithValidMethods([]string{"RS256"}))
		if err != nil {
			f.t.Errorf("token exchange: assertion: %v", err)
		} else if tok.Header["kid"] != "key-1" || claims["iss"] != "roster@proj.iam.gserviceaccount.com" ||
			claims["scope"] != fcmScope || claims["aud"] != f.srv.URL+"/token" {
			f.t.Errorf("token exchange: header %v claims %v", tok.Header, claims)
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"ya29.access","token_type":"Bearer","expires_in":3600}`)
	case "/v1/projects/proj/messages:send":
		if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer ya29.access" ||
			r.Header.Get("Content-Type") != "application/json" {
			f.t.Errorf("send: %s %q %q", r.Method, r.Header.Get("Authorization"), r.Header.Get("Content-Type"))
		}
		b, _ := io.ReadAll(r.Body)
		f.sends = append(f.sends, string(b))
		status, h, body := http.StatusOK, http.Header{}, `{"name":"projects/proj/messages/0:1"}`
		if f.reply != nil {
			status, h, body = f.reply(len(f.sends))
		}
		for k, v := range h {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	default:
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusNotFound)
	}
}

func testFCM(t *testing.T, now func() time.Time) (*FCM, *fakeGoogle) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	g := newFakeGoogle(t, &key.PublicKey)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	file, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": "proj", "private_key_id": "key-1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "roster@proj.iam.gserviceaccount.com", "token_uri": g.srv.URL + "/token"})
	creds, err := ParseFCMCredentials(file)
	if err != nil {
		t.Fatal(err)
	}
	return NewFCM(creds, g.srv.URL, NewHTTPClient(5*time.Second), now), g
}

func fixedNow() time.Time { return time.Unix(1_800_000_000, 0) }

func TestFCMSendsDataOnlyMessageWithOneTokenExchange(t *testing.T) {
	f, g := testFCM(t, fixedNow)
	for _, n := range []Notification{{Token: "reg-token-1", Type: TypeContactJoined, TS: 1_799_999_990},
		{Token: "reg-token-2", Type: TypeProfileChanged, TS: 1_799_999_991}} {
		rc, err := f.Send(context.Background(), n)
		if err != nil || rc.HTTPStatus != 200 || rc.ID != "projects/proj/messages/0:1" {
			t.Fatalf("send: %+v %v", rc, err)
		}
	}
	if g.exchanges != 1 {
		t.Errorf("token exchanges = %d, want 1 (the access token is reused)", g.exchanges)
	}
	want := []string{
		`{"message":{"token":"reg-token-1","data":{"ts":"1799999990","type":"contact_joined"},` +
			`"android":{"priority":"HIGH","collapse_key":"contact_joined","ttl":"3600s"},` +
			`"apns":{"headers":{"apns-collapse-id":"contact_joined","apns-expiration":"1800003600","apns-priority":"5","apns-push-type":"background"},` +
			`"payload":{"aps":{"content-available":1}}}}}`,
		`{"message":{"token":"reg-token-2","data":{"ts":"1799999991","type":"profile_changed"},` +
			`"android":{"priority":"NORMAL","collapse_key":"profile_changed","ttl":"3600s"},` +
			`"apns":{"headers":{"apns-collapse-id":"profile_changed","apns-expiration":"1800003600","apns-priority":"5","apns-push-type":"background"},` +
			`"payload":{"aps":{"content-available":1}}}}}`,
	}
	for i := range want {
		if g.sends[i] != want[i] {
			t.Errorf("message %d:\n got %s\nwant %s", i, g.sends[i], want[i])
		}
	}
}

func fcmErrorBody(status int, code, message string, extra string) string {
	return `{"error":{"code":` + itoa(status) + `,"message":"` + message + `","status":"` + code + `","details":[` + extra + `]}}`
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func fcmDetail(errorCode string) string {
	return `{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"` + errorCode + `"}`
}

func TestFCMErrorRows(t *testing.T) {
	tokenViolation := `{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"message.token","description":"Invalid registration token"}]}`
	for _, tc := range []struct {
		name    string
		status  int
		header  http.Header
		body    string
		verdict TokenVerdict
		final   bool
		hold    bool
		after   time.Duration
	}{
		{"unregistered", 404, nil, fcmErrorBody(404, "NOT_FOUND", "Requested entity was not found.", fcmDetail("UNREGISTERED")), TokenRemove, true, false, 0},
		{"invalid token", 400, nil, fcmErrorBody(400, "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token", fcmDetail("INVALID_ARGUMENT")+","+tokenViolation), TokenRemove, true, false, 0},
		{"invalid message, not the token", 400, nil, fcmErrorBody(400, "INVALID_ARGUMENT", "Invalid value at 'message.android.ttl'", fcmDetail("INVALID_ARGUMENT")), TokenKeep, true, false, 0},
		{"sender id mismatch", 403, nil, fcmErrorBody(403, "PERMISSION_DENIED", "SenderId mismatch", fcmDetail("SENDER_ID_MISMATCH")), TokenDisable, true, false, 0},
		{"quota, short Retry-After", 429, http.Header{"Retry-After": {"5"}}, fcmErrorBody(429, "RESOURCE_EXHAUSTED", "Quota exceeded", fcmDetail("QUOTA_EXCEEDED")), TokenKeep, false, false, time.Minute},
		{"quota, long Retry-After", 429, http.Header{"Retry-After": {"120"}}, fcmErrorBody(429, "RESOURCE_EXHAUSTED", "Quota exceeded", fcmDetail("QUOTA_EXCEEDED")), TokenKeep, false, false, 2 * time.Minute},
		{"unavailable", 503, http.Header{"Retry-After": {"7"}}, fcmErrorBody(503, "UNAVAILABLE", "try later", fcmDetail("UNAVAILABLE")), TokenKeep, false, false, 7 * time.Second},
		{"internal", 500, nil, fcmErrorBody(500, "INTERNAL", "oops", fcmDetail("INTERNAL")), TokenKeep, false, false, 0},
		{"apns credentials", 401, nil, fcmErrorBody(401, "UNAUTHENTICATED", "auth error from APNS", fcmDetail("THIRD_PARTY_AUTH_ERROR")), TokenKeep, false, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, g := testFCM(t, fixedNow)
			g.reply = func(int) (int, http.Header, string) { return tc.status, tc.header, tc.body }
			rc, err := f.Send(context.Background(), Notification{Token: "reg-token", Type: TypeContactJoined, TS: 1})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if rc.HTTPStatus != tc.status || e.Token != tc.verdict || e.Final != tc.final || e.Hold != tc.hold || e.RetryAfter != tc.after {
				t.Errorf("got status %d %+v", rc.HTTPStatus, e)
			}
			if strings.Contains(e.Error(), "reg-token") {
				t.Errorf("the error names the token: %s", e)
			}
		})
	}
}

// A 401 from FCM (the access token refused) makes the next attempt ask
// for a new one.
func TestFCMNewAccessTokenAfterUnauthenticated(t *testing.T) {
	f, g := testFCM(t, fixedNow)
	g.reply = func(n int) (int, http.Header, string) {
		if n == 1 {
			return 401, nil, fcmErrorBody(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.", "")
		}
		return 200, nil, `{"name":"projects/proj/messages/0:2"}`
	}
	n := Notification{Token: "reg-token", Type: TypeProfileChanged, TS: 1}
	var e *Error
	if _, err := f.Send(context.Background(), n); !errors.As(err, &e) || e.Final || e.Hold {
		t.Fatalf("first send: %v", err)
	}
	if _, err := f.Send(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	if g.exchanges != 2 {
		t.Errorf("token exchanges = %d, want 2", g.exchanges)
	}
}

func TestParseFCMCredentialsRefusesBadFiles(t *testing.T) {
	for _, tc := range []struct{ name, file, want string }{
		{"not json", "{", "not a service-account JSON file"},
		{"wrong type", `{"type":"authorized_user"}`, "not service_account"},
		{"no key", `{"type":"service_account","project_id":"p","client_email":"a@b"}`, "no private_key"},
		{"bad key", `{"type":"service_account","project_id":"p","client_email":"a@b","private_key":"xx"}`, "not a PEM RSA key"},
		{"bad token uri", `{"type":"service_account","project_id":"p","client_email":"a@b","private_key":"xx","token_uri":"ftp://x"}`, "token_uri"},
	} {
		if _, err := ParseFCMCredentials([]byte(tc.file)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}
