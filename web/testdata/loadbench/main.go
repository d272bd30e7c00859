// Command loadbench measures Roster under load with wrk, next to a bare Fiber
// "hello" server measured in the same run (the machine's ceiling), and prints
// one table. One command, from the repository root:
//
//	go run ./web/testdata/loadbench
//
// It builds the binary (or takes --bin, e.g. one built from an older commit
// to compare), seeds a 100,000-user database, starts the server, signs in
// the users it needs, installs wrk with apt if it is missing, and for each
// case runs `wrk -t2 -c16 -d20s --latency` with a Lua check of every reply
// body, a median of single sequential requests, the server's CPU time per
// request (from /proc) and its peak RSS. --scaling, --mixed and --overload
// add the scaling table of the 1,000-number re-sync, a mixed load at 256
// connections and an overload at 1,024 (where a few probes beside wrk time
// the replies served apart from those refused: probe.go). --memory runs
// the memory test instead (memory.go: resident memory idle, at 16
// connections over the -cases, at 1,024 connections and a minute after
// that burst):
//
//	go run ./web/testdata/loadbench --data-dir SEEDED-DIR -d 10s --memory
//
// It lives in testdata so that `go build ./...` and `go test ./...` leave
// it out: it is a tool for people, started by hand (CI vets and
// staticchecks it by name). The cases, the Lua scripts they share and the
// table are in this one long file, easier to keep right in one place.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
)

const (
	code      = "12345678" // test numbers take 8 to 12 digits
	users     = 100_000
	books     = 1_000 // users 2..1001 have seeded books
	poolFirst = 60_001
	deltaUser = 20_001
	r200User  = 20_002
	r1kUser   = 20_003
	singleN   = 200 // sequential requests for a median
)

// Seeded numbers, as models/seed's UserPhone and OtherPhone make
// them (copied: testdata cannot import the module's internals without
// making this a test).
var areaCodes = []int{201, 202, 203, 205, 206, 207, 208, 209, 210, 212, 213, 214, 215, 216, 217, 218, 219, 224, 225, 228}

func userPhone(i int) string {
	n := len(areaCodes)
	return fmt.Sprintf("+1%d%07d", areaCodes[(i-1)%n], 2_000_000+(i-1)/n)
}

func otherPhone(j int) string {
	n := len(areaCodes)
	return fmt.Sprintf("+1%d%07d", areaCodes[j%n], 7_000_000+j/n)
}

// book is n numbers, half of them users (from user firstUser on), half not
// (from otherFirst on).
func book(n, firstUser, otherFirst int) []string {
	out := make([]string, 0, n)
	for i := range n {
		if i%2 == 0 {
			out = append(out, userPhone(firstUser+i/2))
		} else {
			out = append(out, otherPhone(otherFirst+i/2))
		}
	}
	return out
}

type bench struct {
	bin, dir, work string
	addr           string
	pid            int
	instances      int
	others         []instance // further servers on the same database (--instances)
	duration       time.Duration
	pool           int
	tokens         map[int]string
	client         *http.Client
	hourBefore     int64 // the delta-hour case's ts
}

// instance is one running server.
type instance struct {
	addr string
	pid  int
}

type result struct {
	name          string
	rps           float64
	p50, p99      string
	single        time.Duration
	cpuMs         float64 // CPU-ms per request
	cores         float64
	wrkCores      float64 // the load generator's share of the same machine
	requests      int64
	bad, errs     int64
	timeouts      int64
	busy, interna int64
	rssMiB        float64
	load          string
	// From probe, at 256 connections and more: the p99 of the replies
	// served and of those refused (BUSY).
	servedP99, refusedP99 string
}

func main() {
	b := &bench{client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	if len(os.Args) == 3 && os.Args[1] == "hello" {
		hello(os.Args[2])
		return
	}
	flag.StringVar(&b.bin, "bin", "", "roster binary to measure (default: build this checkout)")
	flag.StringVar(&b.dir, "data-dir", "", "seeded data directory to copy instead of seeding (default: seed a new one)")
	flag.DurationVar(&b.duration, "d", 20*time.Second, "wrk duration per case")
	// The test numbers reach the server in one environment variable, which
	// Linux bounds at 128 KiB: about 5,900 numbers.
	flag.IntVar(&b.pool, "pool", 5500, "fresh users signed in for the new-user case (the case's requests beyond the pool are re-syncs)")
	only := flag.String("cases", "", "comma-separated case names to run (default: all)")
	scaling := flag.Bool("scaling", false, "also the 1,000-number re-sync at 1, 4, 16, 64 connections")
	mixed := flag.Bool("mixed", false, "also a mixed load at 256 connections for 30 s")
	overload := flag.Bool("overload", false, "also the 1,000-number re-sync and sign-ins at 1,024 connections")
	memory := flag.Bool("memory", false, "instead, the memory test: RSS idle, at 16 connections (-cases), at 1,024 and --settle after")
	settle := flag.Duration("settle", time.Minute, "memory test: how long after the burst its memory is read")
	serverArgs := flag.String("server-args", "", "extra server flags")
	flag.IntVar(&b.instances, "instances", 1, "servers on the same database (PostgreSQL: --database-url in -server-args); the mixed load is spread over them")
	flag.Parse()
	if err := b.run(*only, *scaling, *mixed, *overload, *memory, *settle, strings.Fields(*serverArgs)); err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

func hello(addr string) {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Use(func(c *fiber.Ctx) error { return c.SendString("hello") })
	if err := app.Listen(addr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func (b *bench) run(only string, scaling, mixed, overload, memory bool, settle time.Duration, extra []string) error {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) // wrk and the server inherit it
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		fmt.Println("installing wrk with apt")
		cmd := exec.Command("sh", "-c", "apt-get install -y wrk || sudo apt-get install -y wrk")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("wrk is missing and apt could not install it: %w", err)
		}
	}
	var err error
	if b.work, err = os.MkdirTemp("", "loadbench-"); err != nil {
		return err
	}
	defer os.RemoveAll(b.work)
	if b.bin == "" {
		b.bin = filepath.Join(b.work, "roster")
		fmt.Println("building roster")
		if out, err := exec.Command("go", "build", "-o", b.bin, ".").CombinedOutput(); err != nil {
			return fmt.Errorf("go build (run from the repository root): %v\n%s", err, out)
		}
	}
	data := filepath.Join(b.work, "data")
	if b.dir != "" {
		if out, err := exec.Command("cp", "-r", b.dir, data).CombinedOutput(); err != nil {
			return fmt.Errorf("copy %s: %v %s", b.dir, err, out)
		}
	} else {
		fmt.Println("seeding 100,000 users")
		cmd := exec.Command(b.bin, "seed", "--data-dir", data, "--users", strconv.Itoa(users), "--books", strconv.Itoa(books),
			"--book-min", "200", "--book-max", "2000", "--popular", strconv.Itoa(books), "--uniform")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("seed: %v\n%s", err, out)
		}
	}
	if b.instances > 1 && !slices.ContainsFunc(extra, func(a string) bool { return strings.HasPrefix(a, "--database-url") }) {
		return errors.New("-instances above 1 needs one shared database: -server-args \"--database-url postgres://…\"")
	}
	first, stop, err := b.startServer(data, extra)
	if err != nil {
		return err
	}
	defer stop()
	b.addr, b.pid = first.addr, first.pid
	for i := 1; i < b.instances; i++ {
		// A data directory each (the files of a PostgreSQL deployment
		// without --files-url); the database is the shared one.
		dir := fmt.Sprintf("%s-%d", data, i)
		if out, err := exec.Command("cp", "-r", data, dir).CombinedOutput(); err != nil {
			return fmt.Errorf("copy %s: %v %s", data, err, out)
		}
		other, stop, err := b.startServer(dir, extra)
		if err != nil {
			return err
		}
		defer stop()
		b.others = append(b.others, other)
	}
	if err := b.prepare(); err != nil {
		return err
	}
	var rows []result
	want := func(name string) bool { return only == "" || slices.Contains(strings.Split(only, ","), name) }
	if memory {
		return b.memoryTest(want, settle)
	}
	for _, c := range b.cases() {
		if !want(c.name) {
			continue
		}
		r, err := b.measure(c, 2, 16, b.duration)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		if c.name == "newuser-1000" && r.requests > int64(len(c.tokens)) {
			fmt.Fprintf(os.Stderr, "  note: newuser-1000 sent %d requests for a pool of %d fresh users; the rest were re-syncs\n", r.requests, len(c.tokens))
		}
		rows = append(rows, r)
		fmt.Fprintf(os.Stderr, "  %-28s %8.0f req/s  p99 %s  single %s\n", r.name, r.rps, r.p99, r.single)
	}
	if want("hello") {
		r, err := b.measureHello()
		if err != nil {
			return err
		}
		rows = append(rows, r)
	}
	printTable("Cases (wrk -t2 -c16 -d"+b.duration.String()+" --latency)", rows)
	if scaling {
		var sr []result
		c := b.caseByName("resync-1000")
		for _, conns := range []int{1, 4, 16, 64} {
			r, err := b.measure(c, min(2, conns), conns, b.duration/2)
			if err != nil {
				return err
			}
			r.name = fmt.Sprintf("resync-1000, %d conns", conns)
			sr = append(sr, r)
		}
		printTable("Scaling: 1,000-number re-sync (wrk -d"+(b.duration/2).String()+")", sr)
	}
	if mixed {
		r, err := b.mixed(256, 30*time.Second)
		if err != nil {
			return err
		}
		printTable("Mixed load: re-syncs with new numbers, delta syncs, profile updates, sign-ins, an event stream per connection", []result{r})
	}
	if overload {
		var or []result
		for _, name := range []string{"resync-1000", "verify"} {
			c := b.caseByName(name)
			r, err := b.measure(c, 2, 1024, b.duration/2)
			if err != nil {
				return err
			}
			r.name += ", 1024 conns"
			or = append(or, r)
		}
		printTable("Overload: 1,024 connections (wrk --timeout 10s)", or)
	}
	return nil
}

func (b *bench) startServer(data string, extra []string) (instance, func(), error) {
	var in instance
	port, err := freePort()
	if err != nil {
		return in, nil, err
	}
	in.addr = "127.0.0.1:" + strconv.Itoa(port)
	var tn []string
	for _, id := range b.testUsers() {
		tn = append(tn, userPhone(id)+":"+code)
	}
	// wrk's connections all come from 127.0.0.1: without lifting the
	// per-IP cap (128) the 256- and 1,024-connection loads would measure
	// 128 connections and a storm of refused ones.
	args := append([]string{"--data-dir", data, "--addr", in.addr, "--log-level", "warn", "--max-connections-per-ip", "0"}, extra...)
	cmd := exec.Command(b.bin, args...)
	cmd.Env = append(os.Environ(), "ROSTER_TEST_NUMBERS="+strings.Join(tn, ","), "ROSTER_ADMIN_PASSWORD=loadbench-admin-password")
	logName := filepath.Join(b.work, "server-"+in.addr+".log")
	logf, err := os.Create(logName)
	if err != nil {
		return in, nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return in, nil, err
	}
	in.pid = cmd.Process.Pid
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		logf.Close()
	}
	for i := 0; ; i++ {
		res, err := b.client.Get("http://" + in.addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return in, stop, nil
			}
		}
		if i > 600 {
			stop()
			log, _ := os.ReadFile(logName)
			return in, nil, fmt.Errorf("server not ready: %v\n%s", err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (b *bench) testUsers() []int {
	ids := []int{deltaUser, r200User, r1kUser}
	for i := range b.pool {
		ids = append(ids, poolFirst+i)
	}
	return ids
}

func (b *bench) post(body any) (map[string]any, error) {
	js, _ := json.Marshal(body)
	res, err := b.client.Post("http://"+b.addr+"/api.php", "application/json", bytes.NewReader(js))
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return nil, err
	}
	if out["result"] != "OK" {
		return out, fmt.Errorf("reply %v", out)
	}
	return out, nil
}

// prepare signs in every user the cases need and stores the books of the
// re-sync and delta users once, so that the re-syncs measured change nothing.
func (b *bench) prepare() error {
	ids := b.testUsers()
	b.tokens = make(map[int]string, len(ids))
	fmt.Printf("signing in %d users\n", len(ids))
	var mu sync.Mutex
	var firstErr error
	work := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for id := range work {
				out, err := b.post(map[string]any{"op": "login", "appid": "loadbench", "phone": strings.TrimPrefix(userPhone(id), "+"), "otp": code, "device": "loadbench"})
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("sign-in of user %d: %w", id, err)
				} else if err == nil {
					b.tokens[id] = out["token"].(string)
				}
				mu.Unlock()
			}
		})
	}
	for _, id := range ids {
		work <- id
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	// The delta user: 1,000 contacts that are all users.
	var all []string
	for i := range 1000 {
		all = append(all, userPhone(30_001+i))
	}
	for id, phones := range map[int][]string{deltaUser: all, r200User: book(200, 40_001, 0), r1kUser: book(1000, 41_001, 1000)} {
		if _, err := b.post(map[string]any{"op": "getcontacts", "token": b.tokens[id], "phones": strings.Join(phones, ",")}); err != nil {
			return err
		}
	}
	// The hour-old delta asks from an hour before the newest change among
	// the delta user's contacts (on the seed, 163 of the 100,000 users
	// changed since, one of them a contact).
	out, err := b.post(map[string]any{"op": "getcontacts", "token": b.tokens[deltaUser], "ts": 0})
	if err != nil {
		return err
	}
	contacts, _ := out["contacts"].([]any)
	for _, c := range contacts {
		if m, ok := c.(map[string]any); ok {
			ts, _ := strconv.ParseInt(fmt.Sprint(m["ts"]), 10, 64)
			b.hourBefore = max(b.hourBefore, ts-3600)
		}
	}
	return nil
}

// A case is a body template with {TOKEN} replaced by a token, cycling
// through tokens, and the text every reply body must contain.
type benchCase struct {
	name, label string
	body        string
	tokens      []string
	want        string
}

func (b *bench) cases() []benchCase {
	js := func(m map[string]any) string { s, _ := json.Marshal(m); return string(s) }
	tok := func(id int) []string { return []string{b.tokens[id]} }
	var pool []string
	for i := singleN; i < b.pool; i++ { // the first ones are for the single-request median
		pool = append(pool, b.tokens[poolFirst+i])
	}
	var verify []string
	for i := range b.pool {
		verify = append(verify, strings.TrimPrefix(userPhone(poolFirst+i), "+"))
	}
	return []benchCase{
		{"resync-200", "getcontacts 200 numbers (100 users), re-sync",
			js(map[string]any{"op": "getcontacts", "token": "{TOKEN}", "phones": strings.Join(book(200, 40_001, 0), ",")}), tok(r200User), `"result":"OK"`},
		{"resync-1000", "getcontacts 1,000 numbers (500 users), re-sync",
			js(map[string]any{"op": "getcontacts", "token": "{TOKEN}", "phones": strings.Join(book(1000, 41_001, 1000), ",")}), tok(r1kUser), `"result":"OK"`},
		{"newuser-1000", "1,000 numbers, a new user each request",
			js(map[string]any{"op": "getcontacts", "token": "{TOKEN}", "phones": strings.Join(book(1000, 43_001, 3000), ",")}), pool, `"result":"OK"`},
		{"delta-1000", "delta sync returning 1,000 contacts",
			js(map[string]any{"op": "getcontacts", "token": "{TOKEN}", "ts": 0}), tok(deltaUser), `"result":"OK"`},
		{"delta-hour", "delta sync since an hour before the newest change among 1,000 contacts",
			js(map[string]any{"op": "getcontacts", "token": "{TOKEN}", "ts": b.hourBefore}), tok(deltaUser), `"result":"OK"`},
		{"profile-read", "delta sync with nothing changed (ts in 2100): the profile read an app makes",
			js(map[string]any{"op": "getcontacts", "token": "{TOKEN}", "ts": 4102444800}), tok(deltaUser), `"result":"OK"`},
		{"authfail", "unknown token (AUTHFAIL)",
			js(map[string]any{"op": "getcontacts", "token": "{TOKEN}", "phones": "+12015550123"}), []string{strings.Repeat("0", 64)}, `"error":"AUTHFAIL"`},
		// A new token nearly every request (20,000 in turn, more than the
		// server remembers as unknown): each costs its database lookup.
		{"authfail-random", "unknown tokens, 20,000 different (AUTHFAIL)",
			js(map[string]any{"op": "getcontacts", "token": "{TOKEN}", "phones": "+12015550123"}), randomTokens(20_000), `"error":"AUTHFAIL"`},
		{"login", "login: code request (test number)",
			`{"op":"login","appid":"loadbench","phone":"{TOKEN}"}`, verify, `"result":"OK"`},
		{"verify", "login with the code (test number)",
			`{"op":"login","appid":"loadbench","phone":"{TOKEN}","otp":"` + code + `","device":"loadbench-verify"}`, verify, `"result":"OK"`},
	}
}

// randomTokens is n tokens of the shape Roster issues (64 hex digits) that
// no session has, the same ones every run.
func randomTokens(n int) []string {
	rng := rand.New(rand.NewPCG(26, 26))
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%016x%016x%016x%016x", rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64())
	}
	return out
}

func (b *bench) caseByName(name string) benchCase {
	for _, c := range b.cases() {
		if c.name == name {
			return c
		}
	}
	panic(name)
}

// luaScript writes the wrk script of a case: tokens cycle per thread (each
// thread takes every threads-th one, so no two requests share a fresh user
// while the pool lasts), every reply body is checked, and done() prints the
// counts loadbench reads. With honorRetry, a connection answered BUSY waits
// its retry_after before its next request, as the protocol asks of apps
// (retryDelay); without, it asks again at once.
func (b *bench) luaScript(c benchCase, honorRetry bool) (string, error) {
	tokFile := filepath.Join(b.work, c.name+".tokens")
	if err := os.WriteFile(tokFile, []byte(strings.Join(c.tokens, "\n")+"\n"), 0o600); err != nil {
		return "", err
	}
	pre, post, _ := strings.Cut(c.body, "{TOKEN}")
	script := fmt.Sprintf(`
local pre, post, want = %q, %q, %q
local tokens = {}
for line in io.lines(%q) do tokens[#tokens + 1] = line end
local threads = {}
local counter = 1
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  n = id - 1
  bad, busy, internal = 0, 0, 0
  step = %d
end
function request()
  local t = tokens[(n %% #tokens) + 1]
  n = n + step
  return wrk.format("POST", "/api.php", {["Content-Type"] = "application/json"}, pre .. t .. post)
end
function response(status, headers, body)
  if not string.find(body, want, 1, true) then
    bad = bad + 1
    if string.find(body, '"BUSY"', 1, true) then busy = busy + 1; retryAfter(body) end
    if string.find(body, '"INTERNAL"', 1, true) then internal = internal + 1 end
  end
end
function done(summary, latency, requests)
  local b, u, i = 0, 0, 0
  for _, t in ipairs(threads) do b = b + t:get("bad"); u = u + t:get("busy"); i = i + t:get("internal") end
  io.write(string.format("LOADBENCH bad=%%d busy=%%d internal=%%d\n", b, u, i))
end
`, pre, post, c.want, tokFile, 2) + retryDelay(honorRetry)
	path := filepath.Join(b.work, c.name+".lua")
	return path, os.WriteFile(path, []byte(script), 0o600)
}

// single is the median of sequential requests on one keep-alive connection.
// retryDelay is the Lua of a script's retryAfter(body), called on each
// BUSY reply: with honor, each BUSY holds one next request of the thread
// for the reply's retry_after through wrk's delay() (which wrk does not
// count in the latency). wrk asks delay() when a connection is next
// writable, not right after its response(), so the waits are queued and
// each taken once: the request held may be another connection's, the
// number and length of the waits are the replies'. Without, it does
// nothing.
func retryDelay(honor bool) string {
	if !honor {
		return "\nfunction retryAfter(body) end\n"
	}
	return `
local waits, first, last = {}, 1, 0
function retryAfter(body)
  last = last + 1
  waits[last] = (tonumber(string.match(body, '"retry_after":(%d+)')) or 1) * 1000
end
function delay()
  if first > last then return 0 end
  local w = waits[first]
  waits[first] = nil
  first = first + 1
  return w
end
`
}

func (b *bench) single(c benchCase, tokens []string) (time.Duration, error) {
	var ds []time.Duration
	for i := range singleN {
		body := strings.Replace(c.body, "{TOKEN}", tokens[i%len(tokens)], 1)
		start := time.Now()
		res, err := b.client.Post("http://"+b.addr+"/api.php", "application/json", strings.NewReader(body))
		if err != nil {
			return 0, err
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		ds = append(ds, time.Since(start))
		if !bytes.Contains(got, []byte(c.want)) {
			return 0, fmt.Errorf("single request: reply %.300s", got)
		}
	}
	slices.Sort(ds)
	return ds[len(ds)/2], nil
}

func (b *bench) measure(c benchCase, threads, conns int, d time.Duration) (result, error) {
	r := result{name: c.name}
	singleTokens := c.tokens
	if c.name == "newuser-1000" {
		singleTokens = nil
		for i := range singleN {
			singleTokens = append(singleTokens, b.tokens[poolFirst+i])
		}
	}
	var err error
	if conns == 16 {
		if r.single, err = b.single(c, singleTokens); err != nil {
			return r, err
		}
	}
	// Overloads honor retry_after: refused at once, a client that asked
	// again at once would measure how fast refusals are sent.
	script, err := b.luaScript(c, conns >= 256)
	if err != nil {
		return r, err
	}
	if conns < 256 {
		err = b.wrk(&r, b.pid, script, threads, conns, d, "http://"+b.addr+"/api.php")
		return r, err
	}
	ctx, stop := context.WithCancel(context.Background())
	var served, refused []time.Duration
	probed := make(chan struct{})
	go func() { served, refused = b.probe(ctx, c); close(probed) }()
	err = b.wrk(&r, b.pid, script, threads, conns, d, "http://"+b.addr+"/api.php")
	stop()
	<-probed
	r.servedP99, r.refusedP99 = p99(served), p99(refused)
	return r, err
}

func (b *bench) measureHello() (result, error) {
	r := result{name: "hello"}
	port, err := freePort()
	if err != nil {
		return r, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	self, err := os.Executable()
	if err != nil {
		return r, err
	}
	cmd := exec.Command(self, "hello", addr)
	if err := cmd.Start(); err != nil {
		return r, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	for i := 0; i < 100; i++ {
		if conn, err := net.Dial("tcp", addr); err == nil {
			conn.Close()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	saved := b.addr
	b.addr = addr
	defer func() { b.addr = saved }()
	c := benchCase{name: "hello", body: "{TOKEN}", tokens: []string{"x"}, want: "hello"}
	if r.single, err = b.single(c, c.tokens); err != nil {
		return r, err
	}
	script, err := b.luaScript(c, false)
	if err != nil {
		return r, err
	}
	err = b.wrk(&r, cmd.Process.Pid, script, 2, 16, b.duration, "http://"+addr+"/")
	return r, err
}

var (
	reRPS      = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reReqs     = regexp.MustCompile(`(\d+) requests in`)
	reLat      = regexp.MustCompile(`(?m)^\s+(50|99)%\s+(\S+)`)
	reCounts   = regexp.MustCompile(`LOADBENCH bad=(\d+) busy=(\d+) internal=(\d+)`)
	reSocket   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	reNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	clockTicks = 100.0 // USER_HZ on Linux
)

func (b *bench) wrk(r *result, pid int, script string, threads, conns int, d time.Duration, url string) error {
	cpu0, err := cpuTicks(pid)
	if err != nil {
		return err
	}
	start := time.Now()
	cmd := exec.Command("wrk", "-t"+strconv.Itoa(threads), "-c"+strconv.Itoa(conns), "-d"+strconv.Itoa(int(d.Seconds()))+"s",
		"--latency", "--timeout", "10s", "-s", script, url)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	loadDone := make(chan string, 1)
	go func() {
		time.Sleep(d / 2)
		l, _ := os.ReadFile("/proc/loadavg")
		loadDone <- strings.Join(strings.Fields(string(l))[:3], " ")
	}()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("wrk: %v\n%s", err, out.String())
	}
	wall := time.Since(start).Seconds()
	r.wrkCores = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds() / wall
	cpu1, err := cpuTicks(pid)
	if err != nil {
		return err
	}
	r.load = <-loadDone
	s := out.String()
	if m := reRPS.FindStringSubmatch(s); m != nil {
		r.rps, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := reReqs.FindStringSubmatch(s); m != nil {
		r.requests, _ = strconv.ParseInt(m[1], 10, 64)
	}
	for _, m := range reLat.FindAllStringSubmatch(s, -1) {
		if m[1] == "50" {
			r.p50 = m[2]
		} else {
			r.p99 = m[2]
		}
	}
	if m := reCounts.FindStringSubmatch(s); m != nil {
		r.bad, _ = strconv.ParseInt(m[1], 10, 64)
		r.busy, _ = strconv.ParseInt(m[2], 10, 64)
		r.interna, _ = strconv.ParseInt(m[3], 10, 64)
	}
	if m := reSocket.FindStringSubmatch(s); m != nil {
		for _, x := range m[1:4] {
			n, _ := strconv.ParseInt(x, 10, 64)
			r.errs += n
		}
		r.timeouts, _ = strconv.ParseInt(m[4], 10, 64)
	}
	if m := reNon2xx.FindStringSubmatch(s); m != nil {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		r.errs += n
	}
	cpuS := float64(cpu1-cpu0) / clockTicks
	r.cores = cpuS / wall
	if r.requests > 0 {
		r.cpuMs = cpuS * 1000 / float64(r.requests)
	}
	r.rssMiB = peakRSS(pid)
	return nil
}

// cpuTicks is the process's user+system time (fields 14 and 15 of
// /proc/PID/stat, after the command name in parentheses).
func cpuTicks(pid int) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, errors.New("unreadable /proc stat")
	}
	f := strings.Fields(string(raw[i+1:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s, nil
}

func peakRSS(pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func printTable(title string, rows []result) {
	fmt.Printf("\n%s\n", title)
	fmt.Println("| case | req/s | p50 | p99 | single median | CPU-ms/req | cores: server + wrk | peak RSS MiB | failed body checks (BUSY, INTERNAL) | socket errors (timeouts) | load avg | probes' p99: served, BUSY |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|")
	var hello float64
	for _, r := range rows {
		if r.name == "hello" {
			hello = r.rps
		}
	}
	for _, r := range rows {
		name := r.name
		if strings.HasPrefix(r.name, "authfail") && hello > 0 {
			name += fmt.Sprintf(" (%.0f %% of hello)", 100*r.rps/hello)
		}
		single := "-"
		if r.single > 0 {
			single = fmt.Sprintf("%.2f ms", float64(r.single.Microseconds())/1000)
		}
		probes := "-"
		if r.servedP99 != "" {
			probes = r.servedP99 + ", " + r.refusedP99
		}
		fmt.Printf("| %s | %.0f | %s | %s | %s | %.2f | %.2f + %.2f | %.0f | %d (%d, %d) | %d (%d) | %s | %s |\n", name, r.rps, r.p50, r.p99, single,
			r.cpuMs, r.cores, r.wrkCores, r.rssMiB, r.bad, r.busy, r.interna, r.errs, r.timeouts, r.load, probes)
	}
}

// mixed runs a mixed load: each wrk connection is one of the pool's users,
// cycling through re-syncs that add a few new numbers, delta syncs, profile
// updates and sign-ins, while every user also holds an event stream open.
func (b *bench) mixed(conns int, d time.Duration) (result, error) {
	r := result{name: fmt.Sprintf("mixed, %d conns", conns)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var streams sync.WaitGroup
	servers := append([]instance{{b.addr, b.pid}}, b.others...)
	if len(servers) > 1 {
		r.name += fmt.Sprintf(", %d instances", len(servers))
	}
	for i := range conns {
		tok := b.tokens[poolFirst+i]
		addr := servers[i%len(servers)].addr
		streams.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/events?token="+tok, nil)
			if res, err := http.DefaultClient.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		})
	}
	var lines []string
	for i := range conns {
		lines = append(lines, fmt.Sprintf("%s %s", b.tokens[poolFirst+i], strings.TrimPrefix(userPhone(poolFirst+i), "+")))
	}
	tokFile := filepath.Join(b.work, "mixed.tokens")
	if err := os.WriteFile(tokFile, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return r, err
	}
	known := strings.Join(book(200, 45_001, 5000), ",")
	script := fmt.Sprintf(`
local known = %q
local users = {}
for line in io.lines(%q) do
  local t, p = line:match("(%%S+) (%%S+)")
  users[#users + 1] = {t, p}
end
local threads = {}
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  n = id
  bad, busy, internal = 0, 0, 0
  math.randomseed(id * 7919)
end
local hdr = {["Content-Type"] = "application/json"}
function request()
  local u = users[(n %% #users) + 1]
  local kind = n %% 10
  n = n + 2
  local body
  if kind < 4 then
    local extra = {}
    for i = 1, 5 do extra[i] = string.format("+1201%%07d", math.random(3000000, 6999999)) end
    body = '{"op":"getcontacts","token":"' .. u[1] .. '","phones":"' .. known .. ',' .. table.concat(extra, ",") .. '"}'
  elseif kind < 7 then
    body = '{"op":"getcontacts","token":"' .. u[1] .. '","ts":0}'
  elseif kind < 9 then
    body = '{"op":"profile","token":"' .. u[1] .. '","status":"mixed ' .. n .. '"}'
  else
    body = '{"op":"login","appid":"loadbench","phone":"' .. u[2] .. '","otp":"%s","device":"loadbench-mixed"}'
  end
  return wrk.format("POST", "/api.php", hdr, body)
end
function response(status, headers, body)
  if not string.find(body, '"result":"OK"', 1, true) then
    bad = bad + 1
    if string.find(body, '"BUSY"', 1, true) then busy = busy + 1; retryAfter(body) end
    if string.find(body, '"INTERNAL"', 1, true) then internal = internal + 1 end
  end
end
function done(summary, latency, requests)
  local b, u, i = 0, 0, 0
  for _, t in ipairs(threads) do b = b + t:get("bad"); u = u + t:get("busy"); i = i + t:get("internal") end
  io.write(string.format("LOADBENCH bad=%%d busy=%%d internal=%%d\n", b, u, i))
end
`, known, tokFile, code) + retryDelay(true)
	path := filepath.Join(b.work, "mixed.lua")
	if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
		return r, err
	}
	var err error
	if len(servers) == 1 {
		err = b.wrk(&r, b.pid, path, 2, conns, d, "http://"+b.addr+"/api.php")
	} else {
		err = b.wrkSpread(&r, servers, path, conns, d)
	}
	cancel()
	streams.Wait()
	return r, err
}

// wrkSpread runs one wrk per server at once, each with its share of the
// connections (the same users on every server: their writes meet in the
// shared database), and adds up what they measured; latencies are the
// slowest server's, cores and RSS the servers' together.
func (b *bench) wrkSpread(r *result, servers []instance, script string, conns int, d time.Duration) error {
	parts := make([]result, len(servers))
	errs := make([]error, len(servers))
	var wg sync.WaitGroup
	for i, in := range servers {
		wg.Go(func() {
			errs[i] = b.wrk(&parts[i], in.pid, script, 1, conns/len(servers), d, "http://"+in.addr+"/api.php")
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	slowest := func(a, b string) string {
		da, _ := time.ParseDuration(a)
		db, _ := time.ParseDuration(b)
		if db > da {
			return b
		}
		return a
	}
	var cpuS float64
	for _, p := range parts {
		r.rps += p.rps
		r.requests += p.requests
		r.p50, r.p99 = slowest(r.p50, p.p50), slowest(r.p99, p.p99)
		r.cores += p.cores
		r.wrkCores += p.wrkCores
		r.rssMiB += p.rssMiB
		r.bad, r.busy, r.interna, r.errs, r.timeouts = r.bad+p.bad, r.busy+p.busy, r.interna+p.interna, r.errs+p.errs, r.timeouts+p.timeouts
		cpuS += p.cpuMs * float64(p.requests) / 1000
		r.load = p.load
	}
	if r.requests > 0 {
		r.cpuMs = cpuS * 1000 / float64(r.requests)
	}
	return nil
}
