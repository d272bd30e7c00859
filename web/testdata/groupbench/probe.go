package main

// The prober: sign-ins timed by a process of their own, beside the fan-out,
// and, with --server-times, as the server's access log timed them.

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// signIns times n sign-ins of user i, one after the other, in the prober:
// a process of its own, so that its timing does not include waits for
// this one's CPU, busy reading the 1,000 streams (a phone signing in is
// not the phones holding the streams).
func (b *bench) signIns(user, n int) ([]time.Duration, error) {
	if err := b.startProber(user); err != nil {
		return nil, err
	}
	if _, err := fmt.Fprintln(b.prober.in, n); err != nil {
		return nil, err
	}
	var ds []time.Duration
	for range n {
		if !b.prober.out.Scan() {
			return nil, fmt.Errorf("the prober ended: %v", b.prober.out.Err())
		}
		us, err := strconv.ParseInt(b.prober.out.Text(), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("prober: %s", b.prober.out.Text())
		}
		ds = append(ds, time.Duration(us)*time.Microsecond)
	}
	return ds, nil
}

// startProber starts the prober for user, once.
func (b *bench) startProber(user int) error {
	if b.prober != nil {
		return nil
	}
	cmd := exec.Command(os.Args[0], "probe", b.base, strconv.Itoa(user))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	b.prober = &prober{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	return nil
}

// reniceSelf gives every thread of this process the nice value n. Linux
// keeps a nice value per thread, and a thread started later inherits its
// creator's, so every thread so far is set. The server and the prober,
// started before, keep theirs.
func reniceSelf(n int) error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, n); err != nil {
			return fmt.Errorf("nice thread %d: %w", tid, err)
		}
	}
	return nil
}

// prober is the process that times sign-ins (probe).
type prober struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func (p *prober) stop() {
	p.in.Close()
	_ = p.cmd.Wait()
}

// probe is the prober's side: for each number n read from stdin, it signs
// user in n times and prints each time in microseconds (or the error).
func probe(base string, user int) {
	b := &bench{base: base, client: &http.Client{Timeout: time.Minute}}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		n, _ := strconv.Atoi(in.Text())
		for range n {
			start := time.Now()
			if _, err := b.signIn(user, "d"+strconv.Itoa(int(start.UnixNano()%1e9))); err != nil {
				fmt.Println("error:", err)
				continue
			}
			fmt.Println(time.Since(start).Microseconds())
		}
	}
}

// reportServerTimes reports the prober's sign-ins as the server timed them
// (the access log's duration: from the request read to the reply written
// to the socket's buffer), idle and during the fan-out. They are the last
// login lines of the log, in the order they were made.
func (b *bench) reportServerTimes() error {
	raw, err := os.ReadFile(b.serverLog)
	if err != nil {
		return err
	}
	loginDuration := regexp.MustCompile(`duration=(\S+) .*op=login\b`)
	var all []time.Duration
	for _, line := range strings.Split(string(raw), "\n") {
		if m := loginDuration.FindStringSubmatch(line); m != nil {
			d, err := time.ParseDuration(m[1])
			if err != nil {
				return fmt.Errorf("server log: %q: %v", m[1], err)
			}
			all = append(all, d)
		}
	}
	if len(all) < len(b.probeDuring) {
		return fmt.Errorf("server log: %d sign-ins, the prober made %d", len(all), len(b.probeDuring))
	}
	var idle, during []time.Duration
	for i, d := range all[len(all)-len(b.probeDuring):] {
		if b.probeDuring[i] {
			during = append(during, d)
		} else {
			idle = append(idle, d)
		}
	}
	report("sign-in, idle, as the server timed it", idle)
	report("sign-in during that fan-out, as the server timed it", during)
	return nil
}
