package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"roster/models/seed"
	"roster/web"
)

// Benchmarks of contact sync and notices on a generated database.
//
// Each runs on a small database generated once per run (20,000 users, 200
// address books) and, when ROSTER_BENCH_DIR names a data directory filled by
// `roster seed` (1,000,000 users by default), on that one as well; without
// it the "seeded" variants skip at once. Figures: ms-p50 and ms-p95 are the
// median and 95th percentile of the operation's latency through the real app.
//
//	go run . seed --data-dir /tmp/roster-1m
//	ROSTER_BENCH_DIR=/tmp/roster-1m go test -run '^$' -bench . -benchtime 300x ./web

var (
	smallOnce sync.Once
	smallDir  string
	smallErr  error
)

const benchCode = "12345678"

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

func benchDirs(b *testing.B) map[string]string {
	smallOnce.Do(func() {
		smallDir, smallErr = os.MkdirTemp("", "roster-bench-")
		if smallErr == nil {
			smallErr = web.Seed(context.Background(), []string{"--data-dir", smallDir, "--users", "20000",
				"--books", "200", "--popular", "200"}, func(string) string { return "" }, io.Discard, quietLog)
		}
	})
	if smallErr != nil {
		b.Fatal(smallErr)
	}
	return map[string]string{"small": smallDir, "seeded": os.Getenv("ROSTER_BENCH_DIR")}
}

// forEachDB runs f on the small database and, if configured, the seeded one.
func forEachDB(b *testing.B, extraArgs []string, f func(b *testing.B, s *benchServer)) {
	dirs := benchDirs(b)
	for _, name := range []string{"small", "seeded"} {
		b.Run(name, func(b *testing.B) {
			if dirs[name] == "" {
				b.Skip("set ROSTER_BENCH_DIR to a directory filled by `roster seed`")
			}
			f(b, openBench(b, dirs[name], extraArgs))
		})
	}
}

type benchServer struct {
	srv *web.Server
}

// benchArgs are extra server flags from ROSTER_BENCH_ARGS (e.g.
// "--fanout-chunk 100"), to compare settings.
func benchArgs() []string { return strings.Fields(os.Getenv("ROSTER_BENCH_ARGS")) }

// lonelyPhone is a number that is in nobody's address book.
const lonelyPhone = "+12125559876"

func openBench(b *testing.B, dir string, extra []string) *benchServer {
	tn := []string{}
	for _, p := range []string{seed.UserPhone(2), seed.Joiner, lonelyPhone} {
		tn = append(tn, p+":"+benchCode)
	}
	args := append([]string{"--data-dir", dir, "--test-numbers", strings.Join(tn, ",")}, extra...)
	cfg, err := web.ParseConfig("roster", args, func(string) string { return "" }, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := web.New(context.Background(), cfg, quietLog, web.Options{Getenv: func(string) string { return "" }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	return &benchServer{srv: srv}
}

func (s *benchServer) call(b *testing.B, params map[string]any) map[string]any {
	body, _ := json.Marshal(params)
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := s.srv.App().Test(req, -1)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out["result"] != "OK" {
		b.Fatalf("%v: %v", err, out)
	}
	return out
}

func (s *benchServer) signIn(b *testing.B, e164 string) string {
	out := s.call(b, map[string]any{"op": "login", "appid": "bench", "phone": strings.TrimPrefix(e164, "+"), "otp": benchCode})
	return out["token"].(string)
}

// latencies collects per-iteration durations and reports percentiles.
type latencies []time.Duration

// cpuTime is the process's CPU time (user + system) so far: on a shared
// machine, CPU per operation says more than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration, n int) {
	if n > 0 {
		b.ReportMetric(float64((cpuTime()-start).Microseconds())/1000/float64(n), "cpu-ms/op")
	}
}

func (l latencies) report(b *testing.B, prefix string) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	pct := func(p float64) float64 {
		return float64(l[min(len(l)-1, int(p*float64(len(l))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), prefix+"ms-p50")
	b.ReportMetric(pct(0.95), prefix+"ms-p95")
}

// bookNumbers returns n numbers, half of them users, written the ways
// address books write them.
func bookNumbers(users, n int) string {
	rng := rand.New(rand.NewPCG(42, uint64(n)))
	out := make([]string, n)
	for i := range out {
		var e string
		if i%2 == 0 {
			e = seed.UserPhone(1 + rng.IntN(users))
		} else {
			e = seed.OtherPhone(rng.IntN(users))
		}
		switch i % 3 {
		case 0:
			out[i] = e
		case 1: // national: (201) 200-0001
			d := strings.TrimPrefix(e, "+1")
			out[i] = fmt.Sprintf("(%s) %s-%s", d[:3], d[3:6], d[6:])
		default:
			out[i] = strings.TrimPrefix(e, "+")
		}
	}
	return strings.Join(out, ",")
}

func (s *benchServer) userCount(b *testing.B) int {
	var n int
	if err := s.srv.DB().Read.Raw("SELECT COUNT(*) FROM users").Scan(&n).Error; err != nil {
		b.Fatal(err)
	}
	return n
}

func benchGetContacts(b *testing.B, n int, extra []string) {
	forEachDB(b, extra, func(b *testing.B, s *benchServer) {
		token := s.signIn(b, seed.UserPhone(2))
		phones := bookNumbers(s.userCount(b), n)
		s.call(b, map[string]any{"op": "getcontacts", "token": token, "phones": phones}) // first upload stores them
		var l latencies
		b.ResetTimer()
		cpu := cpuTime()
		for b.Loop() {
			t := time.Now()
			out := s.call(b, map[string]any{"op": "getcontacts", "token": token, "phones": phones})
			l = append(l, time.Since(t))
			if len(out["contacts"].([]any)) == 0 {
				b.Fatal("no contacts matched")
			}
		}
		reportCPU(b, cpu, len(l))
		l.report(b, "")
	})
}

func BenchmarkGetContacts200(b *testing.B)  { benchGetContacts(b, 200, nil) }
func BenchmarkGetContacts1000(b *testing.B) { benchGetContacts(b, 1000, nil) }

// The same without the parse cache: every number goes through phonenumbers.
func BenchmarkGetContacts1000NoParseCache(b *testing.B) {
	benchGetContacts(b, 1000, []string{"--contacts-parse-cache", "0"})
}

func BenchmarkIncrementalNoChanges(b *testing.B) {
	forEachDB(b, nil, func(b *testing.B, s *benchServer) {
		token := s.signIn(b, seed.UserPhone(2))
		ts := time.Now().Unix() + 1
		var l latencies
		b.ResetTimer()
		cpu := cpuTime()
		for b.Loop() {
			t := time.Now()
			out := s.call(b, map[string]any{"op": "getcontacts", "token": token, "ts": ts})
			l = append(l, time.Since(t))
			if len(out["contacts"].([]any)) != 0 {
				b.Fatal("changes found")
			}
		}
		reportCPU(b, cpu, len(l))
		l.report(b, "")
	})
}

// BenchmarkJoinFanout signs in a number that is in many address books (all
// 10,000 of the seeded database's popular books) and fans its join notice
// out. signin- is the sign-in request as the client sees it; fanout- the
// background fan-out; lonely- the same sign-in of a number in no address book.
// Each iteration deletes the new user again so that the next one joins anew.
func BenchmarkJoinFanout(b *testing.B) {
	forEachDB(b, benchArgs(), func(b *testing.B, s *benchServer) {
		ctx := context.Background()
		ev := s.srv.Events()
		var signin, fanout, lonely latencies
		var recipients int64
		b.ResetTimer()
		for b.Loop() {
			t := time.Now()
			s.signIn(b, seed.Joiner)
			signin = append(signin, time.Since(t))
			t = time.Now()
			for {
				n, err := ev.RunOnce(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if n == 0 {
					break
				}
			}
			fanout = append(fanout, time.Since(t))
			b.StopTimer()
			s.srv.DB().Read.Raw("SELECT recipients FROM events ORDER BY id DESC LIMIT 1").Scan(&recipients)
			t = time.Now()
			s.signIn(b, lonelyPhone)
			lonely = append(lonely, time.Since(t))
			for _, p := range []string{seed.Joiner, lonelyPhone} {
				if err := s.srv.DB().Write.Exec("DELETE FROM users WHERE phone = ?", p).Error; err != nil {
					b.Fatal(err)
				}
			}
			for {
				if n, _ := ev.RunOnce(ctx); n == 0 {
					break
				}
			}
			b.StartTimer()
		}
		signin.report(b, "signin-")
		lonely.report(b, "lonely-")
		fanout.report(b, "fanout-")
		b.ReportMetric(float64(recipients), "recipients")
	})
}

// BenchmarkSignInDuringFanout measures sign-ins of a number in no address
// book while a 10,000-recipient fan-out runs in the background.
func BenchmarkSignInDuringFanout(b *testing.B) {
	forEachDB(b, benchArgs(), func(b *testing.B, s *benchServer) {
		ctx := context.Background()
		ev := s.srv.Events()
		var during latencies
		b.ResetTimer()
		for b.Loop() {
			b.StopTimer()
			s.signIn(b, seed.Joiner)
			done := make(chan struct{})
			go func() {
				defer close(done)
				for {
					if n, err := ev.RunOnce(ctx); n == 0 || err != nil {
						return
					}
				}
			}()
			b.StartTimer()
			t := time.Now()
			s.signIn(b, lonelyPhone)
			during = append(during, time.Since(t))
			b.StopTimer()
			<-done
			for _, p := range []string{seed.Joiner, lonelyPhone} {
				s.srv.DB().Write.Exec("DELETE FROM users WHERE phone = ?", p)
			}
			for {
				if n, _ := ev.RunOnce(ctx); n == 0 {
					break
				}
			}
			b.StartTimer()
		}
		during.report(b, "")
	})
}
