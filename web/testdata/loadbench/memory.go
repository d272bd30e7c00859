package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The memory test (--memory): the running server's resident memory when
// idle, at 16 connections (every selected case in turn), at 1,024
// connections (the 1,000-number re-sync and sign-ins), and --settle after
// that burst, with nothing running. Each stage's peak is the kernel's own
// (VmHWM, reset before the stage through /proc/PID/clear_refs) and, from
// samples every 100 ms, how much of it was the process's own memory (anon)
// and how much pages of the database file mapped by SQLite (file: the
// operating system's cache, which it can take back at any time).

// rss is one reading of /proc/PID/status, in MiB.
type rss struct {
	total, anon, file, hwm float64
}

func readRSS(pid int) (rss, error) {
	var r rss
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return r, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		switch name {
		case "VmRSS":
			r.total = kb / 1024
		case "RssAnon":
			r.anon = kb / 1024
		case "RssFile":
			r.file = kb / 1024
		case "VmHWM":
			r.hwm = kb / 1024
		}
	}
	return r, sc.Err()
}

// memStage is what one stage of the memory test saw.
type memStage struct {
	name               string
	peak               float64 // VmHWM over the stage
	peakAnon, peakFile float64 // highest sampled
	end                rss
	rows               []result
}

// watchRSS samples pid's memory until stop is called, and returns the
// highest anon and file figures seen together with the stage's VmHWM.
func watchRSS(pid int) (stop func() (peakAnon, peakFile, hwm float64, end rss)) {
	// "5" resets the peak resident set size (proc(5), clear_refs).
	_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
	done := make(chan struct{})
	var wg sync.WaitGroup
	var anon, file float64
	wg.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if r, err := readRSS(pid); err == nil {
				anon, file = max(anon, r.anon), max(file, r.file)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() (float64, float64, float64, rss) {
		close(done)
		wg.Wait()
		end, _ := readRSS(pid)
		return max(anon, end.anon), max(file, end.file), end.hwm, end
	}
}

// memoryTest runs the stages and prints their figures.
func (b *bench) memoryTest(want func(string) bool, settle time.Duration) error {
	var stages []memStage
	stage := func(name string, run func() ([]result, error)) error {
		stop := watchRSS(b.pid)
		rows, err := run()
		s := memStage{name: name, rows: rows}
		s.peakAnon, s.peakFile, s.peak, s.end = stop()
		stages = append(stages, s)
		fmt.Fprintf(os.Stderr, "  memory: %-34s peak %4.0f MiB (anon %4.0f, file %4.0f), now %4.0f MiB\n", name, s.peak, s.peakAnon, s.peakFile, s.end.total)
		return err
	}
	idle := func(d time.Duration) func() ([]result, error) {
		return func() ([]result, error) { time.Sleep(d); return nil, nil }
	}
	if err := stage("idle (users signed in)", idle(5*time.Second)); err != nil {
		return err
	}
	if err := stage("16 connections (each case in turn)", func() ([]result, error) {
		var rows []result
		for _, c := range b.cases() {
			if !want(c.name) {
				continue
			}
			r, err := b.measure(c, 2, 16, b.duration)
			if err != nil {
				return rows, fmt.Errorf("%s: %w", c.name, err)
			}
			rows = append(rows, r)
		}
		return rows, nil
	}); err != nil {
		return err
	}
	if err := stage("1,024 connections (the burst)", func() ([]result, error) {
		var rows []result
		for _, name := range []string{"resync-1000", "verify"} {
			r, err := b.measure(b.caseByName(name), 2, 1024, b.duration)
			if err != nil {
				return rows, err
			}
			r.name += ", 1024 conns"
			rows = append(rows, r)
		}
		return rows, nil
	}); err != nil {
		return err
	}
	if err := stage(fmt.Sprintf("%s after the burst, no requests", settle), idle(settle)); err != nil {
		return err
	}

	fmt.Printf("\nMemory of the running server (MiB; file = pages of the database mapped by SQLite, the OS cache's)\n")
	fmt.Println("| stage | peak RSS (VmHWM) | peak anon | peak file | RSS at the end | anon at the end |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, s := range stages {
		fmt.Printf("| %s | %.0f | %.0f | %.0f | %.0f | %.0f |\n", s.name, s.peak, s.peakAnon, s.peakFile, s.end.total, s.end.anon)
	}
	idleRSS, after := stages[0].end.total, stages[len(stages)-1].end.total
	fmt.Printf("\nafter the burst: %.0f MiB, %+.0f %% of idle (%.0f MiB)\n", after, 100*(after-idleRSS)/idleRSS, idleRSS)
	for _, s := range stages {
		if len(s.rows) > 0 {
			printTable("Requests of the stage "+s.name, s.rows)
		}
	}
	return nil
}
