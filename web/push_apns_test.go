package web_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"roster/web"
	"roster/web/webtest"
)

const apnsDevice = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

// A device whose token is 64 hex digits gets its pushes through APNs, over
// HTTP/2, as a background push with the provider token; a 410 Unregistered
// from before the token was set keeps it, one from after removes it.
func TestPushThroughAPNs(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	keyFile := filepath.Join(t.TempDir(), "AuthKey.p8")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	reply := func(w http.ResponseWriter) { w.Header().Set("apns-id", "id-1") }
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		bearer, _ := strings.CutPrefix(r.Header.Get("authorization"), "bearer ")
		claims := jwt.MapClaims{}
		_, err := jwt.ParseWithClaims(bearer, claims, func(*jwt.Token) (any, error) { return &key.PublicKey, nil },
			jwt.WithValidMethods([]string{"ES256"}), jwt.WithoutClaimsValidation())
		if r.ProtoMajor != 2 || err != nil || claims["iss"] != "TEAM123456" || r.URL.Path != "/3/device/"+apnsDevice ||
			r.Header.Get("apns-topic") != "com.example.roster" || r.Header.Get("apns-push-type") != "background" || r.Header.Get("apns-priority") != "5" {
			t.Errorf("APNs request %s %s %v (%v)", r.Proto, r.URL.Path, r.Header, err)
		}
		b, _ := io.ReadAll(r.Body)
		got = append(got, string(b))
		reply(w)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	e := webtest.New(t, webtest.WithArgs("--otp-ip-hourly", "0", "--otp-ip-daily", "0", "--push", "apns", "--apns-key-file", keyFile,
		"--apns-key-id", "KEY1234567", "--apns-team-id", "TEAM123456", "--apns-topic", "com.example.roster", "--apns-base-url", srv.URL),
		webtest.WithOptions(func(o *web.Options) { o.PushClient = srv.Client() }))
	bob := e.SignIn(webtest.FRPhone, "bob-phone")
	e.JSON(map[string]any{"op": "setnotify", "token": bob, "notifytoken": apnsDevice, "prod": 0}).ExpectOK(t)
	e.GetContacts(t, bob, map[string]any{"phones": "+" + webtest.USPhone})
	alice := e.SignIn(webtest.USPhone, "alice-phone")
	e.FanOut()
	e.Server.Pusher().RunOnce(context.Background())
	mu.Lock()
	if len(got) != 1 || got[0] != `{"aps":{"content-available":1},"ts":`+strconv.FormatInt(e.Clock.Now().Unix(), 10)+`,"type":"contact_joined"}` {
		t.Errorf("APNs got %q", got)
	}
	// Unregistered as of a time before the token was set: kept.
	reply = func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusGone)
		io.WriteString(w, `{"reason":"Unregistered","timestamp":`+strconv.FormatInt(webtest.Start().UnixMilli()-1000, 10)+`}`)
	}
	mu.Unlock()
	e.SetProfile(t, alice, map[string]any{"name": "Alice"})
	e.FanOut()
	e.Server.Pusher().RunOnce(context.Background())
	if n := e.Count("SELECT COUNT(*) FROM sessions WHERE notify_token = ?", apnsDevice); n != 1 {
		t.Fatal("a token set after Apple's timestamp was removed")
	}
	mu.Lock()
	reply = func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusGone)
		io.WriteString(w, `{"reason":"Unregistered","timestamp":`+strconv.FormatInt(e.Clock.Now().UnixMilli()+1000, 10)+`}`)
	}
	mu.Unlock()
	e.SetProfile(t, alice, map[string]any{"name": "Alice B"})
	e.FanOut()
	e.Server.Pusher().RunOnce(context.Background())
	if n := e.Count("SELECT COUNT(*) FROM sessions WHERE notify_token = ?", apnsDevice); n != 0 {
		t.Error("a token Apple called unregistered after it was set is kept")
	}
	if n := e.Count("SELECT COUNT(*) FROM outbox WHERE channel = 'apns' AND kind = 'push'"); n != 3 {
		t.Errorf("%d APNs jobs, want 3", n)
	}
}
