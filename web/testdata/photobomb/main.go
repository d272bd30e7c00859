// Command photobomb measures what decoding hostile photos costs the running
// server: it starts the built binary on an empty data directory, signs a
// test number in, uploads N small files that decode to huge images in
// parallel, and prints the server's peak RSS (VmHWM) before and after.
// The files are 16-bit PNGs (--kind png), grey progressive JPEGs whose
// decoder keeps 4 bytes of coefficients per pixel (--kind progressive), or
// such JPEGs of --scans scans, each a walk over every block (--kind scans).
// --kind json posts, without a session, N JSON bodies of --json-mb MiB
// holding one list of numbers (what decoding whole multiplied by 40),
// --kind jsonstring one string. --kind resetflood has N connections of one
// user send reset=1 with two 10,000-number books in turn (numbers a reset
// removed cost no allowance) for --flood, while another user makes
// single-number uploads one after another, and prints that user's median
// and 90th-percentile latency before and during the flood.
// From the repository root:
//
//	go run ./web/testdata/photobomb [--kind png] [--side 4800] [--n 6] [--server-args "--photo-decode-budget-mb 256"]
//
// Linux only (it reads /proc). It lives in testdata so that the module's
// builds and tests leave it out (CI vets and staticchecks it by name).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"roster/web/webtest"
)

const (
	phone  = "15550100999" // fictional: test numbers belong in such ranges
	victim = "15550100998" // --kind resetflood: the user whose writes are timed
	code   = "12345678"
)

func main() {
	bin := flag.String("bin", "", "roster binary (default: build this checkout)")
	side := flag.Int("side", 4800, "width and height of each image (the default pixel limit is 24 MP)")
	n := flag.Int("n", 6, "uploads in parallel")
	serverArgs := flag.String("server-args", "", "extra server flags")
	kind := flag.String("kind", "png", "png, progressive (a 10-scan progressive JPEG), scans (a progressive JPEG of --scans scans), json or jsonstring")
	scans := flag.Int("scans", 3000, "scans of --kind scans")
	jsonMB := flag.Int("json-mb", 16, "size of each body of --kind json, in MiB (the default body limit is 16)")
	flood := flag.Duration("flood", 20*time.Second, "duration of --kind resetflood")
	flag.Parse()
	if *kind == "resetflood" {
		if err := run(*bin, *n, nil, "", func(base, token string, _ []byte) string { return resetFlood(base, token, *n, *flood) },
			strings.Fields(*serverArgs)); err != nil {
			fmt.Fprintln(os.Stderr, "photobomb:", err)
			os.Exit(1)
		}
		return
	}
	var bomb []byte
	var what string
	send := upload
	switch *kind {
	case "json":
		var b bytes.Buffer
		b.WriteString(`{"op":"getcontacts","phones":[`)
		for b.Len() < *jsonMB<<20-1024 {
			b.WriteString("1,")
		}
		b.WriteString("1]}")
		bomb = b.Bytes()
		what = "JSON object (one list of numbers), without a session"
		send = postJSON
	case "jsonstring":
		bomb = []byte(`{"op":"getcontacts","phones":"` + strings.Repeat("1", *jsonMB<<20-1024) + `"}`)
		what = "JSON object (one string), without a session"
		send = postJSON
	case "png":
		bomb = webtest.PNGBomb(*side, *side)
		what = fmt.Sprintf("%dx%d 16-bit PNG (%d MB decoded each)", *side, *side, *side**side*8>>20)
	case "progressive":
		bomb = webtest.ProgressiveJPEG(*side, *side, 10)
		what = fmt.Sprintf("%dx%d progressive grey JPEG (%d MB decoded and %d MB of coefficients each)", *side, *side, *side**side>>20, *side**side*4>>20)
	case "scans":
		bomb = webtest.ProgressiveJPEG(*side, *side, *scans)
		what = fmt.Sprintf("%dx%d progressive grey JPEG of %d scans", *side, *side, *scans)
	default:
		fmt.Fprintln(os.Stderr, "photobomb: --kind is png, progressive, scans, json or jsonstring")
		os.Exit(2)
	}
	if err := run(*bin, *n, bomb, what, send, strings.Fields(*serverArgs)); err != nil {
		fmt.Fprintln(os.Stderr, "photobomb:", err)
		os.Exit(1)
	}
}

func run(bin string, n int, bomb []byte, what string, send func(url, token string, body []byte) string, extra []string) error {
	work, err := os.MkdirTemp("", "photobomb-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if bin == "" {
		bin = filepath.Join(work, "roster")
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			return fmt.Errorf("go build (run from the repository root): %v\n%s", err, out)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, append([]string{"--data-dir", filepath.Join(work, "data"), "--addr", addr, "--log-level", "warn"}, extra...)...)
	cmd.Env = append(os.Environ(), "ROSTER_TEST_NUMBERS="+phone+":"+code+","+victim+":"+code)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	base := "http://" + addr
	for i := 0; ; i++ {
		if res, err := http.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if i > 300 {
			return fmt.Errorf("server not ready")
		}
		time.Sleep(100 * time.Millisecond)
	}
	token, err := signIn(base, phone)
	if err != nil {
		return err
	}
	if bomb == nil { // --kind resetflood
		before := peakRSS(cmd.Process.Pid)
		fmt.Println(send(base, token, nil))
		fmt.Printf("server peak RSS: %d MiB before, %d MiB after\n", before>>10, peakRSS(cmd.Process.Pid)>>10)
		return nil
	}
	before := peakRSS(cmd.Process.Pid)
	start := time.Now()
	results := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			t := time.Now()
			results[i] = fmt.Sprintf("%s (%.1f s)", send(base+"/api.php", token, bomb), time.Since(t).Seconds())
		})
	}
	wg.Wait()
	fmt.Printf("%d parallel requests of a %d KB %s in %.1f s\n", n, len(bomb)>>10, what, time.Since(start).Seconds())
	fmt.Printf("server peak RSS: %d MiB before, %d MiB after\n", before>>10, peakRSS(cmd.Process.Pid)>>10)
	for i, r := range results {
		fmt.Printf("  request %d: %s\n", i+1, r)
	}
	return nil
}

func upload(url, token string, file []byte) string {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range map[string]string{"op": "upload", "token": token, "profile": "1"} {
		_ = w.WriteField(k, v)
	}
	fw, _ := w.CreateFormFile("photo", "bomb")
	_, _ = fw.Write(file)
	_ = w.Close()
	res, err := http.Post(url, w.FormDataContentType(), &body)
	if err != nil {
		return err.Error()
	}
	defer res.Body.Close()
	var r struct{ Result, Error string }
	_ = json.NewDecoder(res.Body).Decode(&r)
	return strings.TrimSpace(r.Result + " " + r.Error)
}

// signIn signs a test number in and returns its token.
func signIn(base, number string) (string, error) {
	res, err := http.Post(base+"/", "application/json", strings.NewReader(
		`{"op":"login","appid":"photobomb","phone":"`+number+`","otp":"`+code+`","device":"d"}`))
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var login struct{ Token string }
	if err := json.NewDecoder(res.Body).Decode(&login); err != nil || login.Token == "" {
		return "", fmt.Errorf("sign-in failed: %v", err)
	}
	return login.Token, nil
}

// op posts one protocol request and returns its result and error code.
func op(base string, params map[string]any) string {
	b, _ := json.Marshal(params)
	res, err := http.Post(base+"/", "application/json", bytes.NewReader(b))
	if err != nil {
		return err.Error()
	}
	defer res.Body.Close()
	var r struct{ Result, Error string }
	_ = json.NewDecoder(res.Body).Decode(&r)
	return strings.TrimSpace(r.Result + " " + r.Error)
}

// resetFlood is --kind resetflood (see the package comment).
func resetFlood(base, token string, conns int, d time.Duration) string {
	victimToken, err := signIn(base, victim)
	if err != nil {
		return err.Error()
	}
	books := [2]string{}
	for b := range books {
		nums := make([]string, 10_000)
		for i := range nums {
			nums[i] = fmt.Sprintf("+1201%07d", 2_000_000+b*10_000+i)
		}
		books[b] = strings.Join(nums, ",")
	}
	next := 0 // the victim's next new number
	timed := func(stop <-chan struct{}, atMost int) []time.Duration {
		var lat []time.Duration
		for len(lat) < atMost {
			select {
			case <-stop:
				return lat
			default:
			}
			next++
			t := time.Now()
			op(base, map[string]any{"op": "getcontacts", "token": victimToken, "phones": fmt.Sprintf("+1202%07d", 3_000_000+next)})
			lat = append(lat, time.Since(t))
		}
		return lat
	}
	quiet := timed(nil, 100)
	stop := make(chan struct{})
	var mu sync.Mutex
	answers := map[string]int{}
	var wg sync.WaitGroup
	for c := range conns {
		wg.Go(func() {
			for i := c; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r := op(base, map[string]any{"op": "getcontacts", "token": token, "phones": books[i%2], "reset": 1})
				mu.Lock()
				answers[r]++
				mu.Unlock()
			}
		})
	}
	time.AfterFunc(d, func() { close(stop) })
	flooded := timed(stop, 1<<30)
	wg.Wait()
	return fmt.Sprintf("another user's one-number uploads: median %v, p90 %v alone (%d); median %v, p90 %v during %v of %d connections resetting 10,000-number books (%d; flood answers %v)",
		pct(quiet, 50), pct(quiet, 90), len(quiet), pct(flooded, 50), pct(flooded, 90), d, conns, len(flooded), answers)
}

// pct is the p-th percentile of the durations.
func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)].Round(100 * time.Microsecond)
}

// postJSON posts body as JSON, without the token.
func postJSON(url, _ string, body []byte) string {
	res, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return err.Error()
	}
	defer res.Body.Close()
	var r struct{ Result, Error, Errmsg string }
	_ = json.NewDecoder(res.Body).Decode(&r)
	return strings.TrimSpace(r.Result + " " + r.Error + " " + r.Errmsg)
}

// peakRSS is VmHWM of the process, in KiB.
func peakRSS(pid int) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb)
			return kb
		}
	}
	return 0
}
