package webtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// FakeFCM is Google's OAuth token endpoint and FCM's HTTP v1 send endpoint
// on one local server. It checks the token exchange (a JWT-bearer
// assertion signed with the service account's key) and that every message
// is the exact data-only form Roster sends, and answers from Answer.
type FakeFCM struct {
	URL             string
	CredentialsFile string

	t   testing.TB
	key *rsa.PrivateKey

	mu        sync.Mutex
	exchanges int
	msgs      []FCMMessage
	answer    func(token string) Reply
}

// FCMMessage is one message FCM received.
type FCMMessage struct {
	Token, Type, TS string
	Body            string
}

const fakeFCMProject = "roster-test"

// NewFakeFCM starts the fake and writes a service-account file whose
// token_uri points at it.
func NewFakeFCM(t testing.TB) *FakeFCM {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f := &FakeFCM{t: t, key: key}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	file, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": fakeFCMProject, "private_key_id": "fake-key",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "roster@" + fakeFCMProject + ".iam.gserviceaccount.com", "token_uri": srv.URL + "/token"})
	f.CredentialsFile = filepath.Join(t.TempDir(), "fcm.json")
	if err := os.WriteFile(f.CredentialsFile, file, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// Args are the flags of a server that pushes through this fake.
func (f *FakeFCM) Args() []string {
	return []string{"--push", "fcm", "--fcm-credentials-file", f.CredentialsFile, "--fcm-base-url", f.URL}
}

// Answer sets how sends are answered (nil: 200 with a message name).
func (f *FakeFCM) Answer(a func(token string) Reply) {
	f.mu.Lock()
	f.answer = a
	f.mu.Unlock()
}

// Messages returns the messages received so far.
func (f *FakeFCM) Messages() []FCMMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]FCMMessage(nil), f.msgs...)
}

// Exchanges is how many access tokens were asked for.
func (f *FakeFCM) Exchanges() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.exchanges
}

// FCMError is FCM's error answer with an FcmError errorCode.
func FCMError(status int, errorCode string) Reply {
	return Reply{Status: status, Body: fmt.Sprintf(`{"error":{"code":%d,"message":"fake","status":"%s","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"%s"}]}}`,
		status, http.StatusText(status), errorCode)}
}

func (f *FakeFCM) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/token":
		f.token(w, r)
	case "/v1/projects/" + fakeFCMProject + "/messages:send":
		f.send(w, r)
	default:
		f.t.Errorf("fake FCM: unexpected %s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusNotFound)
	}
}

func (f *FakeFCM) token(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.exchanges++
	f.mu.Unlock()
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost || r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		f.t.Errorf("fake FCM: token exchange %s %v", r.Method, r.PostForm)
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(r.PostForm.Get("assertion"), claims, func(*jwt.Token) (any, error) { return &f.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
	if err != nil || claims["scope"] != "https://www.googleapis.com/auth/firebase.messaging" || claims["aud"] != f.URL+"/token" {
		f.t.Errorf("fake FCM: assertion %v %v", err, claims)
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"access_token":"fake-access-token","token_type":"Bearer","expires_in":3600}`)
}

func (f *FakeFCM) send(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer fake-access-token" {
		f.t.Errorf("fake FCM: send %s with %q", r.Method, r.Header.Get("Authorization"))
	}
	var req struct {
		Message struct {
			Token string            `json:"token"`
			Data  map[string]string `json:"data"`
		} `json:"message"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		f.t.Errorf("fake FCM: body %s", body)
	}
	m := FCMMessage{Token: req.Message.Token, Type: req.Message.Data["type"], TS: req.Message.Data["ts"], Body: string(body)}
	if want := fcmWant(m); string(body) != want {
		f.t.Errorf("fake FCM: message\n got %s\nwant %s", body, want)
	}
	f.mu.Lock()
	f.msgs = append(f.msgs, m)
	n, answer := len(f.msgs), f.answer
	f.mu.Unlock()
	rep := Reply{Status: 200, Body: `{"name":"projects/` + fakeFCMProject + `/messages/` + strconv.Itoa(n) + `"}`}
	if answer != nil {
		rep = answer(m.Token)
	}
	writeReply(w, rep)
}

// fcmWant is the one form of message Roster sends: data only, the
// type's priority and collapse key, an hour's TTL, an iOS background push.
func fcmWant(m FCMMessage) string {
	priority := "NORMAL"
	if m.Type == "contact_joined" {
		priority = "HIGH"
	}
	var exp struct {
		Message struct {
			APNs struct {
				Headers map[string]string `json:"headers"`
			} `json:"apns"`
		} `json:"message"`
	}
	_ = json.Unmarshal([]byte(m.Body), &exp)
	return `{"message":{"token":` + strconv.Quote(m.Token) + `,"data":{"ts":"` + m.TS + `","type":"` + m.Type + `"},` +
		`"android":{"priority":"` + priority + `","collapse_key":"` + m.Type + `","ttl":"3600s"},` +
		`"apns":{"headers":{"apns-collapse-id":"` + m.Type + `","apns-expiration":"` + exp.Message.APNs.Headers["apns-expiration"] +
		`","apns-priority":"5","apns-push-type":"background"},"payload":{"aps":{"content-available":1}}}}}`
}
