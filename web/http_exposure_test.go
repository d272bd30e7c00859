package web_test

// What the server exposes over HTTP besides the app: headers on every
// reply and where /metrics is served.

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"roster/web"
	"roster/web/webtest"
)

// Every reply says nosniff; with an https base URL, every reply carries
// Strict-Transport-Security, and over http none does.
func TestTransportHeaders(t *testing.T) {
	for _, base := range []string{"http://localhost:8080", "https://chat.example"} {
		e := webtest.New(t, webtest.WithArgs("--base-url", base))
		for _, r := range []*webtest.Response{
			e.JSON(webtest.LoginParams(webtest.USPhone)),
			e.Query(map[string]string{"op": "nothing"}),
			e.Do(httptest.NewRequest(http.MethodGet, "/files/nothing.png", nil)),
			e.Do(httptest.NewRequest(http.MethodGet, "/livez", nil)),
			e.Do(httptest.NewRequest(http.MethodGet, "/admin/login", nil)),
		} {
			if r.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s: no nosniff: %v", base, r.Header)
			}
			hsts := r.Header.Get("Strict-Transport-Security")
			if strings.HasPrefix(base, "https") != strings.Contains(hsts, "max-age=") {
				t.Errorf("%s: Strict-Transport-Security %q", base, hsts)
			}
		}
	}
}

// /metrics is not public: not on the main address by default, there only
// behind ROSTER_METRICS_TOKEN, and on --metrics-addr on a listener of its own.
func TestMetricsNotPublic(t *testing.T) {
	e := webtest.New(t)
	if r := e.Do(httptest.NewRequest(http.MethodGet, "/metrics", nil)); r.Status != http.StatusNotFound || strings.Contains(string(r.Body), "go_goroutines") {
		t.Errorf("/metrics on the main address answered %d by default", r.Status)
	}
	const token = "a-metrics-token-of-at-least-32-characters"
	tok := webtest.New(t, webtest.WithOptions(func(o *web.Options) {
		o.Getenv = func(k string) string { return map[string]string{"ROSTER_METRICS_TOKEN": token}[k] }
	}))
	for _, auth := range []string{"", "Bearer wrong", "Bearer " + token + "x"} {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if r := tok.Do(req); r.Status != http.StatusNotFound {
			t.Errorf("%q: %d", auth, r.Status)
		}
	}
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if r := tok.Do(req); r.Status != http.StatusOK || !strings.Contains(string(r.Body), "go_goroutines") {
		t.Errorf("with the token: %d", r.Status)
	}

	// Its own listener.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	maddr := ln.Addr().String()
	ln.Close()
	own := webtest.New(t, webtest.WithArgs("--metrics-addr", maddr))
	base := own.Listen()
	var res *http.Response
	for range 100 {
		if res, err = http.Get("http://" + maddr + "/metrics"); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), "go_goroutines") {
		t.Errorf("metrics address: %d %.200s", res.StatusCode, b)
	}
	if res, err := http.Get(base + "/metrics"); err != nil || res.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics also on the main address: %v %v", err, res)
	}
}
