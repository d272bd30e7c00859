// Command pumpbench is the fraud guard's load run: an SMS pumping bot sends
// 10,000 code requests over one number prefix (+1 201 200 0000 to 9999) from
// many addresses, while real users in other ranges sign in, and the same
// users sign in on an idle server for comparison. It prints the codes the
// pumped range got (at most the prefix limit), how many real users were
// served, and the latency of the real users' two sign-in steps in both
// runs. One command, from the repository root:
//
//	go run ./web/testdata/pumpbench            # the bot as fast as it goes
//	go run ./web/testdata/pumpbench --rate 200 # 200 requests a second
//
// With --returning the users signed in once before the bot starts, as the
// service's users have: run with --server-args "--otp-prefix-hourly 0
// --otp-prefix-daily 0", the bot fills the users' country's limit instead
// of its prefix's, which holds only numbers that never signed in.
//
// Each run starts a fresh server (the console channel, whose log lines
// carry the codes the users then enter) behind a trusted proxy address, so
// that X-Forwarded-For gives every request its own network. It lives in
// testdata so that `go build ./...` and `go test ./...` leave it out (CI
// vets and staticchecks it by name).
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
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	bin := flag.String("bin", "", "roster binary (default: built from the working directory)")
	pumped := flag.Int("pump", 10_000, "code requests the bot sends over one prefix")
	bots := flag.Int("bots", 8, "the bot's requests in flight at once")
	people := flag.Int("users", 200, "real users who sign in during the run")
	together := flag.Int("user-conns", 4, "real users signing in at once")
	rate := flag.Int("rate", 0, "the bot's requests a second (0 = as fast as its connections go)")
	returning := flag.Bool("returning", false, "the real users signed in once before the bot starts (the country's limits never hold them)")
	serverArgs := flag.String("server-args", "", "more flags for both servers, space-separated (e.g. \"--otp-prefix-hourly 0\" for a run without the prefix limit)")
	flag.Parse()
	b := bench{pumped: *pumped, bots: *bots, people: *people, together: *together, rate: *rate, returning: *returning, args: strings.Fields(*serverArgs)}
	if b.returning {
		b.args = append(b.args, "--otp-resend-cooldown", "1s")
	}
	if err := run(*bin, b); err != nil {
		fmt.Fprintln(os.Stderr, "pumpbench:", err)
		os.Exit(1)
	}
}

// bench is one comparison's settings (the flags).
type bench struct {
	pumped, bots, people, together, rate int
	returning                            bool
	args                                 []string
}

func run(bin string, b bench) error {
	work, err := os.MkdirTemp("", "pumpbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if bin == "" {
		bin = filepath.Join(work, "roster")
		fmt.Println("building roster")
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			return fmt.Errorf("go build (run from the repository root): %v\n%s", err, out)
		}
	}
	quiet := b
	quiet.pumped = 0
	idle, err := runOnce(bin, filepath.Join(work, "idle"), quiet)
	if err != nil {
		return err
	}
	loaded, err := runOnce(bin, filepath.Join(work, "pumped"), b)
	if err != nil {
		return err
	}
	fmt.Printf("\n| run | real users served | request code p50 / p90 / p99 | verify p50 / p90 / p99 | pumped requests: OK / refused | codes sent to the pumped prefix |\n|---|---|---|---|---|---|\n")
	for _, r := range []struct {
		name string
		res  result
	}{{"idle", idle}, {"pumped", loaded}} {
		fmt.Printf("| %s | %d of %d | %s | %s | %d / %d | %d |\n", r.name, r.res.served, b.people, r.res.request, r.res.verify,
			r.res.pumpOK, r.res.pumpRefused, r.res.pumpSent)
	}
	fmt.Printf("\nsign-in (both steps) median: idle %s, pumped %s (%+.1f %%); wall time of the pumped run %s\n",
		idle.signIn.Round(time.Microsecond), loaded.signIn.Round(time.Microsecond),
		100*(float64(loaded.signIn)/float64(idle.signIn)-1), loaded.wall.Round(time.Millisecond))
	return nil
}

type result struct {
	served              int
	request, verify     quantiles
	signIn              time.Duration // median of request + verify
	pumpOK, pumpRefused int64
	pumpSent            int
	wall                time.Duration
}

type quantiles []time.Duration

func (q quantiles) String() string {
	if len(q) == 0 {
		return "-"
	}
	s := slices.Clone(q)
	slices.Sort(s)
	at := func(p float64) string { return ms(s[min(int(p*float64(len(s))), len(s)-1)]) }
	return at(0.5) + " / " + at(0.9) + " / " + at(0.99)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// runOnce starts a fresh server, lets the users sign in while the bot
// pumps (pumped 0: an idle run) and stops the server.
func runOnce(bin, dir string, b bench) (result, error) {
	var res result
	addr, err := freeAddr()
	if err != nil {
		return res, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return res, err
	}
	logName := filepath.Join(dir, "server.log")
	logf, err := os.Create(logName)
	if err != nil {
		return res, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, append([]string{"--data-dir", filepath.Join(dir, "data"), "--addr", addr, "--otp-channel", "console",
		"--log-format", "json", "--access-log=false", "--trusted-proxies", "127.0.0.1"}, b.args...)...)
	cmd.Env = append(os.Environ(), "ROSTER_ADMIN_PASSWORD=pumpbench-admin-password")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return res, err
	}
	defer func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }()
	base := "http://" + addr + "/"
	if err := waitReady(base + "livez"); err != nil {
		return res, err
	}
	codes := &codeLog{name: logName}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: b.bots + b.together}, Timeout: 30 * time.Second}
	var pace <-chan time.Time
	if b.rate > 0 {
		t := time.NewTicker(time.Second / time.Duration(b.rate))
		defer t.Stop()
		pace = t.C
	}

	if b.returning {
		// Their first sign-in, untimed, before the bot; then past the
		// number's resend cooldown (1 s in this mode).
		signInAll(client, base, codes, b, func(time.Duration, time.Duration) {})
		time.Sleep(1100 * time.Millisecond)
	}
	start := time.Now()
	var pumpOK, pumpRefused atomic.Int64
	var pumping sync.WaitGroup
	next := atomic.Int64{}
	for range b.bots {
		pumping.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.pumped) {
					return
				}
				if pace != nil {
					<-pace
				}
				// 5 requests an address: the per-IP quota (30 an hour) never stops the bot.
				ip := fmt.Sprintf("10.%d.%d.%d", i/5/65536%256, i/5/256%256, i/5%256)
				r, _, err := login(client, base, ip, fmt.Sprintf("1201200%04d", i), "")
				switch {
				case err != nil:
					pumpRefused.Add(1)
				case r.Result == "OK":
					pumpOK.Add(1)
				default:
					pumpRefused.Add(1)
				}
			}
		})
	}
	var mu sync.Mutex
	var signIns []time.Duration
	signInAll(client, base, codes, b, func(took, vtook time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		res.served++
		res.request = append(res.request, took)
		res.verify = append(res.verify, vtook)
		signIns = append(signIns, took+vtook)
	})
	pumping.Wait()
	res.wall = time.Since(start)
	res.pumpOK, res.pumpRefused = pumpOK.Load(), pumpRefused.Load()
	// The worker sends queued codes within moments; give it a second.
	time.Sleep(time.Second)
	res.pumpSent, err = codes.count("+1201200")
	if len(signIns) > 0 {
		slices.Sort(signIns)
		res.signIn = signIns[len(signIns)/2]
	}
	return res, err
}

type reply struct {
	Result string `json:"result"`
	Error  string `json:"error"`
	Token  string `json:"token"`
}

// login sends one login step (a code request, or with code its check) as
// the proxy forwarding ip, and times it.
func login(c *http.Client, base, ip, phone, code string) (reply, time.Duration, error) {
	params := map[string]string{"op": "login", "appid": "com.example.pumpbench", "phone": phone}
	if code != "" {
		params["otp"] = code
	}
	body, _ := json.Marshal(params)
	req, err := http.NewRequest(http.MethodPost, base, bytes.NewReader(body))
	if err != nil {
		return reply{}, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", ip)
	start := time.Now()
	res, err := c.Do(req)
	if err != nil {
		return reply{}, 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	took := time.Since(start)
	var r reply
	if err == nil {
		err = json.Unmarshal(b, &r)
	}
	return r, took, err
}

// codeLog reads the codes the console channel logs.
type codeLog struct {
	name string
}

var delivered = regexp.MustCompile(`message to (\+\d+): (\d{6}) `)

func (l *codeLog) scan(each func(phone, code string) bool) error {
	f, err := os.Open(l.name)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if m := delivered.FindSubmatch(sc.Bytes()); m != nil && !each(string(m[1]), string(m[2])) {
			return nil
		}
	}
	return sc.Err()
}

// signInAll signs each real user in (both steps), a few at once, and
// tells served the two steps' times of each that got a token.
func signInAll(client *http.Client, base string, codes *codeLog, b bench, served func(took, vtook time.Duration)) {
	var users sync.WaitGroup
	nextUser := atomic.Int64{}
	for range b.together {
		users.Go(func() {
			for {
				i := int(nextUser.Add(1) - 1)
				if i >= b.people {
					return
				}
				// Each user in a prefix of its own, from an address of its own.
				phone := fmt.Sprintf("1202%03d0100", 300+i)
				ip := fmt.Sprintf("192.0.%d.%d", 2+i/250, 1+i%250)
				before, err := codes.count("+" + phone)
				if err != nil {
					continue
				}
				r, took, err := login(client, base, ip, phone, "")
				if err != nil || r.Result != "OK" {
					continue
				}
				code, err := codes.wait("+"+phone, before)
				if err != nil {
					continue
				}
				v, vtook, err := login(client, base, ip, phone, code)
				if err != nil || v.Result != "OK" || v.Token == "" {
					continue
				}
				served(took, vtook)
			}
		})
	}
	users.Wait()
}

// wait returns the code logged for the number after the first `after`,
// waiting for the delivery worker to send it.
func (l *codeLog) wait(e164 string, after int) (string, error) {
	for range 200 {
		code, n := "", 0
		if err := l.scan(func(p, c string) bool {
			if p == e164 {
				if n++; n > after {
					code = c
				}
			}
			return true
		}); err != nil {
			return "", err
		}
		if code != "" {
			return code, nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	return "", errors.New("no code for " + e164)
}

func (l *codeLog) count(prefix string) (int, error) {
	n := 0
	err := l.scan(func(p, _ string) bool {
		if strings.HasPrefix(p, prefix) {
			n++
		}
		return true
	})
	return n, err
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitReady(url string) error {
	for range 300 {
		if res, err := http.Get(url); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("the server did not start (see its log)")
}
