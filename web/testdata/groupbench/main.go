// Command groupbench measures the group ops against the running binary:
// setgroup creating a group of 1,000 members, the delta sync of a user in
// 500 groups of which 100 changed, and a change of a 1,000-member group
// reaching 1,000 open event streams, with sign-in latency idle and during
// that fan-out. From the repository root:
//
//	go run ./web/testdata/groupbench [--database-url postgres://…]
//
// It builds the binary, seeds a small database (SQLite in a temporary data
// directory, or the PostgreSQL database named), signs in the people it
// needs as test numbers, and prints medians of single sequential requests.
// It lives in testdata: a tool for people, left out of go build and go
// test (CI vets it by name).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const code = "12345678"

// userPhone is models.SeedUserPhone's i-th number (copied: testdata cannot
// import the module's internals).
func userPhone(i int) string {
	areaCodes := []int{201, 202, 203, 205, 206, 207, 208, 209, 210, 212, 213, 214, 215, 216, 217, 218, 219, 224, 225, 228}
	n := len(areaCodes)
	return fmt.Sprintf("+1%d%07d", areaCodes[(i-1)%n], 2_000_000+(i-1)/n)
}

type bench struct {
	base   string
	client *http.Client
}

func main() {
	dbURL := flag.String("database-url", "", "run on this PostgreSQL database (emptied by the seed) instead of SQLite")
	flag.Parse()
	if err := run(*dbURL); err != nil {
		fmt.Fprintln(os.Stderr, "groupbench:", err)
		os.Exit(1)
	}
}

func run(dbURL string) error {
	work, err := os.MkdirTemp("", "groupbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "roster")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v\n%s", err, out)
	}
	data := filepath.Join(work, "data")
	common := []string{"--data-dir", data}
	env := os.Environ()
	if dbURL != "" {
		// The seed takes the URL from the environment only; on PostgreSQL
		// the keys come from there too (fixed ones: a throw-away database).
		env = append(env, "ROSTER_DATABASE_URL="+dbURL,
			"ROSTER_OTP_KEY=hex:"+strings.Repeat("11", 32), "ROSTER_CONTACTS_KEY=hex:"+strings.Repeat("22", 32),
			"ROSTER_COOKIE_HASH_KEY=hex:"+strings.Repeat("33", 32), "ROSTER_COOKIE_BLOCK_KEY=hex:"+strings.Repeat("44", 32))
	}
	seed := exec.Command(bin, append([]string{"seed", "--users", "3000", "--books", "10", "--popular", "5", "--uniform"}, common...)...)
	seed.Env = env
	if out, err := seed.CombinedOutput(); err != nil {
		return fmt.Errorf("seed: %v\n%s", err, out)
	}
	var tn []string
	for i := 1; i <= 1003; i++ {
		tn = append(tn, userPhone(i)+":"+code)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, append([]string{"--addr", addr, "--log-level", "warn", "--max-connections-per-ip", "0",
		"--otp-ip-hourly", "0", "--otp-ip-daily", "0", "--groups-per-user", "100000", "--group-max-members", "2000"}, common...)...)
	cmd.Env = append(env, "ROSTER_TEST_NUMBERS="+strings.Join(tn, ","), "ROSTER_ADMIN_PASSWORD=groupbench-admin-password")
	logf, err := os.Create(filepath.Join(work, "server.log"))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
	b := &bench{base: "http://" + addr, client: &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 2000}}}
	for i := 0; ; i++ {
		if res, err := b.client.Get(b.base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if i > 600 {
			return errors.New("the server did not get ready")
		}
		time.Sleep(100 * time.Millisecond)
	}
	db := "SQLite"
	if dbURL != "" {
		db = "PostgreSQL"
	}
	fmt.Printf("groupbench on %s (a shared machine: figures are indicative)\n", db)
	tokens := map[int]string{}
	for i := 1; i <= 1003; i++ {
		if tokens[i], err = b.signIn(i, "bench"); err != nil {
			return err
		}
	}
	return b.cases(tokens)
}

func (b *bench) cases(tokens map[int]string) error {
	members := make([]string, 0, 1000)
	for i := 2; i <= 1001; i++ {
		members = append(members, strings.TrimPrefix(userPhone(i), "+"))
	}
	m := strings.Join(members, ",")
	var create []time.Duration
	var bigGID string
	for range 30 {
		start := time.Now()
		r, err := b.op(map[string]any{"op": "setgroup", "token": tokens[1], "name": "Big", "m": m})
		if err != nil {
			return err
		}
		create = append(create, time.Since(start))
		if !strings.HasPrefix(fmt.Sprint(r["members"]), "1:") || strings.Count(fmt.Sprint(r["members"]), ",") != 1000 {
			return fmt.Errorf("setgroup: members %v", r["members"])
		}
		if bigGID == "" {
			bigGID = fmt.Sprint(r["gid"])
		}
	}
	report("setgroup creating a group of 1,000 members (30 runs)", create)

	var gids []string
	for range 500 {
		r, err := b.op(map[string]any{"op": "setgroup", "token": tokens[1002], "name": "Small", "m": strings.TrimPrefix(userPhone(1003), "+")})
		if err != nil {
			return err
		}
		gids = append(gids, fmt.Sprint(r["gid"]))
	}
	time.Sleep(1100 * time.Millisecond)
	since := time.Now().Unix()
	for _, gid := range gids[:100] {
		if _, err := b.op(map[string]any{"op": "profile", "token": tokens[1002], "gid": gid, "name": "Renamed"}); err != nil {
			return err
		}
	}
	var delta []time.Duration
	for range 200 {
		start := time.Now()
		r, err := b.op(map[string]any{"op": "getcontacts", "token": tokens[1002], "ts": since})
		if err != nil {
			return err
		}
		delta = append(delta, time.Since(start))
		if n := len(r["contacts"].([]any)); n != 100 {
			return fmt.Errorf("delta sync: %d groups, want 100", n)
		}
	}
	report("delta sync, a user in 500 groups of which 100 changed (200 runs)", delta)
	return b.fanOut(tokens, bigGID)
}

// fanOut opens 1,000 event streams (the members of the group) and times a
// change of the group reaching all of them, and sign-ins idle and during.
func (b *bench) fanOut(tokens map[int]string, gid string) error {
	var mu sync.Mutex
	var got []time.Duration
	var start time.Time
	started := make(chan struct{})
	var ready sync.WaitGroup
	stop := make(chan struct{})
	for i := 2; i <= 1001; i++ {
		ready.Add(1)
		req, _ := http.NewRequest(http.MethodGet, b.base+"/api/events", nil)
		req.Header.Set("Authorization", "Bearer "+tokens[i])
		c := &http.Client{Transport: &http.Transport{}}
		res, err := c.Do(req)
		if err != nil {
			return err
		}
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("stream: %d", res.StatusCode)
		}
		go func() {
			defer res.Body.Close()
			ready.Done()
			sc := bufio.NewScanner(res.Body)
			for sc.Scan() {
				if sc.Text() == "event: group" {
					<-started
					mu.Lock()
					got = append(got, time.Since(start))
					mu.Unlock()
				}
				select {
				case <-stop:
					return
				default:
				}
			}
		}()
	}
	ready.Wait()
	// The replay of earlier notices (the creations) is read and dropped.
	time.Sleep(3 * time.Second)
	mu.Lock()
	got = nil
	mu.Unlock()
	idle, err := b.signIns(1, 40)
	if err != nil {
		return err
	}
	report("sign-in, idle (40 runs)", idle)
	start = time.Now()
	close(started)
	if _, err := b.op(map[string]any{"op": "profile", "token": tokens[1], "gid": gid, "name": "Changed"}); err != nil {
		return err
	}
	var during []time.Duration
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 1000 {
			break
		}
		d, err := b.signIns(1, 1)
		if err != nil {
			return err
		}
		during = append(during, d...)
	}
	close(stop)
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(got)
	if len(got) < 1000 {
		return fmt.Errorf("%d of 1,000 streams got the change", len(got))
	}
	fmt.Printf("%-70s %8.1f ms (first %.1f ms, median %.1f ms)\n", "change of a 1,000-member group on 1,000 streams: last arrival",
		ms(got[len(got)-1]), ms(got[0]), ms(got[len(got)/2]))
	report("sign-in during that fan-out", during)
	return nil
}

func (b *bench) signIns(user, n int) ([]time.Duration, error) {
	var out []time.Duration
	for range n {
		start := time.Now()
		if _, err := b.signIn(user, "d"+strconv.Itoa(int(start.UnixNano()%1e9))); err != nil {
			return nil, err
		}
		out = append(out, time.Since(start))
	}
	return out, nil
}

func (b *bench) signIn(i int, device string) (string, error) {
	r, err := b.op(map[string]any{"op": "login", "appid": "bench.app", "phone": strings.TrimPrefix(userPhone(i), "+"), "otp": code, "device": device})
	if err != nil {
		return "", err
	}
	return fmt.Sprint(r["token"]), nil
}

func (b *bench) op(p map[string]any) (map[string]any, error) {
	body, _ := json.Marshal(p)
	res, err := b.client.Post(b.base+"/", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var r map[string]any
	if err := json.Unmarshal(raw, &r); err != nil || r["result"] != "OK" {
		return nil, fmt.Errorf("%s: %s", p["op"], raw)
	}
	return r, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func report(name string, ds []time.Duration) {
	if len(ds) == 0 {
		fmt.Printf("%-70s (no samples)\n", name)
		return
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	fmt.Printf("%-70s %8.1f ms median, %8.1f ms p95 (n=%d)\n", name, ms(s[len(s)/2]), ms(s[len(s)*95/100]), len(s))
}
