// Command pushbench measures push notifications on the running binary: a
// join held in 10,000 address books whose owners are offline with FCM
// tokens, sent to a local fake FCM (TLS, HTTP/2, the OAuth token endpoint
// too), with the sign-in latency measured idle and while the pushes go
// out. One command, from the repository root:
//
//	go run ./web/testdata/pushbench
//
// It builds the binary (or takes --bin), starts it on a fresh SQLite data
// directory in demo-code mode (every number signs in with one code) with
// --push fcm pointed at the fake (whose certificate the server trusts
// through SSL_CERT_FILE), signs the 10,000 owners in through the protocol
// (setnotify, getcontacts with the joiner's number), then signs the
// joiner in and times the pushes until the fake has one per token. It
// prints the figures and fails when a token got none or more than one.
//
// It lives in testdata so that `go build ./...` and `go test ./...` leave
// it out (CI vets and staticchecks it by name).
package main

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
)

const (
	demoCode = "12345678"
	joiner   = "12015550123"
)

// owner is the i-th address-book owner's number (French mobiles).
func owner(i int) string { return fmt.Sprintf("3361%07d", i) }

// probe is the i-th number signed in to measure sign-in latency.
func probe(i int) string { return fmt.Sprintf("3362%07d", i) }

type fakeFCM struct {
	mu    sync.Mutex
	seen  map[string]int
	total atomic.Int64
	last  atomic.Int64 // unix nanos of the latest message
}

func (f *fakeFCM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"bench-access-token","token_type":"Bearer","expires_in":3600}`)
		return
	}
	var req struct {
		Message struct {
			Token string `json:"token"`
		} `json:"message"`
	}
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &req); err != nil || r.Header.Get("Authorization") != "Bearer bench-access-token" {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.seen[req.Message.Token]++
	f.mu.Unlock()
	f.total.Add(1)
	f.last.Store(time.Now().UnixNano())
	io.WriteString(w, `{"name":"projects/bench/messages/1"}`)
}

func main() {
	bin := flag.String("bin", "", "roster binary (default: build this checkout)")
	owners := flag.Int("owners", 10_000, "address books holding the joiner, each with an offline device")
	probes := flag.Int("probes", 200, "sign-ins timed while idle")
	serverArgs := flag.String("server-args", "", "extra server flags, e.g. \"--push-rate 1200\"")
	flag.Parse()
	work, err := os.MkdirTemp("", "pushbench")
	check(err)
	defer os.RemoveAll(work)
	if *bin == "" {
		*bin = filepath.Join(work, "roster")
		out, err := exec.Command("go", "build", "-o", *bin, ".").CombinedOutput()
		check(err, string(out))
	}

	fake := &fakeFCM{seen: map[string]int{}}
	srv := httptest.NewUnstartedServer(fake)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	certFile := filepath.Join(work, "fake.pem")
	check(os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	check(err)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	creds, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": "bench", "private_key_id": "k",
		"private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), "client_email": "bench@bench.iam.gserviceaccount.com",
		"token_uri": srv.URL + "/token"})
	credsFile := filepath.Join(work, "fcm.json")
	check(os.WriteFile(credsFile, creds, 0o600))

	l, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	addr := l.Addr().String()
	l.Close()
	args := append([]string{"--data-dir", filepath.Join(work, "data"), "--addr", addr, "--log-level", "warn",
		"--demo-code", demoCode, "--otp-ip-hourly", "0", "--otp-ip-daily", "0", "--max-connections-per-ip", "0",
		"--push", "fcm", "--fcm-base-url", srv.URL}, strings.Fields(*serverArgs)...)
	cmd := exec.Command(*bin, args...)
	cmd.Env = append(os.Environ(), "ROSTER_FCM_CREDENTIALS_FILE="+credsFile, "SSL_CERT_FILE="+certFile,
		"ROSTER_ADMIN_PASSWORD=pushbench-admin-password")
	logf, err := os.Create(filepath.Join(work, "server.log"))
	check(err)
	cmd.Stdout, cmd.Stderr = logf, logf
	check(cmd.Start())
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	base := "http://" + addr + "/"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: time.Minute}
	for i := 0; ; i++ {
		if res, err := client.Get("http://" + addr + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if i > 600 {
			log, _ := os.ReadFile(logf.Name())
			fail("the server did not get ready:\n" + string(log))
		}
		time.Sleep(100 * time.Millisecond)
	}

	call := func(params map[string]any) map[string]any {
		body, _ := json.Marshal(params)
		res, err := client.Post(base, "application/json", bytes.NewReader(body))
		check(err)
		defer res.Body.Close()
		var out map[string]any
		check(json.NewDecoder(res.Body).Decode(&out))
		if out["result"] != "OK" {
			fail(fmt.Sprintf("%v: %v", params["op"], out))
		}
		return out
	}
	signIn := func(phone string) (string, time.Duration) {
		call(map[string]any{"op": "login", "appid": "bench.app", "phone": phone})
		start := time.Now()
		out := call(map[string]any{"op": "login", "appid": "bench.app", "phone": phone, "otp": demoCode, "device": "phone"})
		return out["token"].(string), time.Since(start)
	}

	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := int(next.Add(1)); i <= *owners; i = int(next.Add(1)) {
				tok, _ := signIn(owner(i))
				call(map[string]any{"op": "setnotify", "token": tok, "notifytoken": "bench-token-" + strconv.Itoa(i), "prod": 1})
				call(map[string]any{"op": "getcontacts", "token": tok, "phones": "+" + joiner})
			}
		})
	}
	wg.Wait()
	fmt.Printf("set up %d owners (sign-in, setnotify, getcontacts) in %s\n", *owners, time.Since(start).Round(time.Millisecond))
	time.Sleep(3 * time.Second) // the owners' own join notices fan out (no recipients)

	var idle []time.Duration
	for i := range *probes {
		_, d := signIn(probe(i))
		idle = append(idle, d)
	}

	cpuBefore := cpuTime(cmd.Process.Pid)
	joined := time.Now()
	signIn(joiner)
	var busy []time.Duration
	for i := *probes; fake.total.Load() < int64(*owners) && time.Since(joined) < 2*time.Minute; i++ {
		_, d := signIn(probe(i))
		busy = append(busy, d)
	}
	sent := fake.total.Load()
	took := time.Unix(0, fake.last.Load()).Sub(joined)
	cpu := cpuTime(cmd.Process.Pid) - cpuBefore
	time.Sleep(2 * time.Second) // anything sent twice would arrive now
	fake.mu.Lock()
	dup, missing := 0, 0
	for i := 1; i <= *owners; i++ {
		switch n := fake.seen["bench-token-"+strconv.Itoa(i)]; {
		case n == 0:
			missing++
		case n > 1:
			dup++
		}
	}
	fake.mu.Unlock()
	fmt.Printf("pushes: %d of %d handed to the fake FCM %s after the join's sign-in; %d tokens got none, %d more than one\n",
		sent, *owners, took.Round(time.Millisecond), missing, dup)
	fmt.Printf("server CPU time from the join to the last push (the timed sign-ins included): %s\n", cpu.Round(time.Millisecond))
	fmt.Printf("sign-in (verify step) median: idle %s (%d), during the pushes %s (%d); p90 idle %s, during %s\n",
		pct(idle, 50), len(idle), pct(busy, 50), len(busy), pct(idle, 90), pct(busy, 90))
	if missing > 0 || dup > 0 {
		fail("a token got no push or more than one")
	}
}

// cpuTime is a process's user and system CPU time so far (Linux).
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	check(err)
	// The fields after the command's closing parenthesis; utime and stime
	// are the 14th and 15th of the line, in clock ticks (100 a second).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)].Round(10 * time.Microsecond)
}

func check(err error, context ...string) {
	if err != nil {
		fail(fmt.Sprint(err, " ", context))
	}
}

// fail stops the run; a panic runs the deferred calls, which stop the
// server and remove the work directory.
func fail(msg string) {
	panic("pushbench: " + msg)
}
