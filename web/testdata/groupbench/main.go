// Command groupbench measures the group ops against the running binary:
// setgroup creating a group of 1,000 members, the delta sync of a user in
// 500 groups of which 100 changed, and a change of a 1,000-member group
// reaching 1,000 open event streams, with sign-in latency idle and during
// that fan-out. From the repository root:
//
//	go run ./web/testdata/groupbench [--database-url postgres://…] [--bin BIN] [--rounds N] [--fanout-only]
//
// It builds the binary (or takes --bin, e.g. one built from another commit
// to compare), seeds a small database (SQLite in a temporary data
// directory, or the PostgreSQL database named), signs in the people it
// needs as test numbers, and prints medians of single sequential requests.
// The fan-out is measured --rounds times on the same 1,000 streams, each
// round's idle sign-ins just before its change, so that one round's noise
// does not decide the figure. Those sign-ins are timed by a process of
// their own (this command run as `probe`), not beside the 1,000 streams'
// readers. It lives in testdata: a tool for people, left out of go build
// and go test (CI vets it by name).
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
	prober *prober // started by fanOut or the first signIns
	// With --server-times: the server's log, and whether each of the
	// prober's sign-ins so far was idle (false) or during a fan-out (true).
	serverLog   string
	probeDuring []bool
	// readersNice is the nice value of this process (the 1,000 streams'
	// readers) during the fan-out: phones are not on the server's machine,
	// and at 19 their reading takes the CPU the server and the prober
	// leave. 0: unchanged.
	readersNice int
}

type options struct {
	dbURL      string
	bin        string
	rounds     int
	fanoutOnly bool
	// serverTimes runs the server with its access log and reports the
	// prober's sign-ins as the server timed them too.
	serverTimes bool
	readersNice int
}

func main() {
	if len(os.Args) == 4 && os.Args[1] == "probe" {
		user, _ := strconv.Atoi(os.Args[3])
		probe(os.Args[2], user)
		return
	}
	var o options
	flag.StringVar(&o.dbURL, "database-url", "", "run on this PostgreSQL database (emptied by the seed) instead of SQLite")
	flag.StringVar(&o.bin, "bin", "", "roster binary to measure (default: build this checkout)")
	flag.IntVar(&o.rounds, "rounds", 5, "changes of the 1,000-member group measured, one after the other")
	flag.BoolVar(&o.fanoutOnly, "fanout-only", false, "measure the fan-out only (no setgroup and delta sync cases)")
	flag.IntVar(&o.readersNice, "readers-nice", 0, "nice value of the 1,000 streams' readers during the fan-out (19: they take only the CPU the server and the prober leave, as phones elsewhere would; 0: unchanged)")
	flag.BoolVar(&o.serverTimes, "server-times", false, "also report the sign-ins as the server timed them, from its access log (the server logs at info level)")
	flag.Parse()
	if o.rounds < 1 {
		fmt.Fprintln(os.Stderr, "groupbench: --rounds must be at least 1")
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "groupbench:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	dbURL := o.dbURL
	work, err := os.MkdirTemp("", "groupbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := o.bin
	if bin == "" {
		bin = filepath.Join(work, "roster")
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			return fmt.Errorf("build: %v\n%s", err, out)
		}
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
	level := "warn"
	if o.serverTimes {
		level = "info"
	}
	cmd := exec.Command(bin, append([]string{"--addr", addr, "--log-level", level, "--max-connections-per-ip", "0",
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
	b.readersNice = o.readersNice
	if o.serverTimes {
		b.serverLog = logf.Name()
	}
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
	return b.cases(tokens, o)
}

func (b *bench) cases(tokens map[int]string, o options) error {
	members := make([]string, 0, 1000)
	for i := 2; i <= 1001; i++ {
		members = append(members, strings.TrimPrefix(userPhone(i), "+"))
	}
	m := strings.Join(members, ",")
	var create []time.Duration
	var bigGID string
	creations := 30
	if o.fanoutOnly {
		creations = 1
	}
	for range creations {
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
	if o.fanoutOnly {
		return b.fanOut(tokens, bigGID, o.rounds)
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
	return b.fanOut(tokens, bigGID, o.rounds)
}

// fanOut opens 1,000 event streams (the members of the group) and, rounds
// times, times a change of the group reaching all of them, with sign-ins
// idle just before and during.
func (b *bench) fanOut(tokens map[int]string, gid string, rounds int) error {
	// The prober starts before this process lowers its priority, so that
	// it keeps the server's.
	if err := b.startProber(1); err != nil {
		return err
	}
	if b.readersNice != 0 {
		if err := reniceSelf(b.readersNice); err != nil {
			return err
		}
	}
	var mu sync.Mutex
	var got []time.Duration // arrivals of the round under way
	var start time.Time
	armed := false
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
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				if sc.Text() == "event: group" {
					mu.Lock()
					if armed {
						got = append(got, time.Since(start))
					}
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
	defer close(stop)
	defer func() {
		if b.prober != nil {
			b.prober.stop()
		}
	}()
	ready.Wait()
	// The replay of earlier notices (the creations) is read and dropped.
	time.Sleep(3 * time.Second)
	var idle, during, last []time.Duration
	var firsts, medians []time.Duration
	for r := range rounds {
		d, err := b.signIns(1, 10)
		if err != nil {
			return err
		}
		idle = append(idle, d...)
		b.probeDuring = append(b.probeDuring, make([]bool, len(d))...)
		mu.Lock()
		got, armed, start = nil, true, time.Now()
		mu.Unlock()
		if _, err := b.op(map[string]any{"op": "profile", "token": tokens[1], "gid": gid, "name": "Changed " + strconv.Itoa(r)}); err != nil {
			return err
		}
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
			b.probeDuring = append(b.probeDuring, true)
		}
		mu.Lock()
		arrivals := slices.Sorted(slices.Values(got))
		armed = false
		mu.Unlock()
		if len(arrivals) < 1000 {
			return fmt.Errorf("round %d: %d of 1,000 streams got the change", r+1, len(arrivals))
		}
		last = append(last, arrivals[len(arrivals)-1])
		firsts = append(firsts, arrivals[0])
		medians = append(medians, arrivals[len(arrivals)/2])
		// The machine settles before the next round's idle sign-ins.
		time.Sleep(500 * time.Millisecond)
	}
	fmt.Printf("%-70s %8.1f ms median, %8.1f ms max (first %.1f ms, median %.1f ms; %d rounds)\n",
		"change of a 1,000-member group on 1,000 streams: last arrival",
		ms(median(last)), ms(slices.Max(last)), ms(median(firsts)), ms(median(medians)), rounds)
	report(fmt.Sprintf("sign-in, idle (10 before each round, %d rounds)", rounds), idle)
	report("sign-in during that fan-out", during)
	if b.serverLog != "" {
		return b.reportServerTimes()
	}
	return nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Sorted(slices.Values(ds))
	return s[len(s)/2]
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
