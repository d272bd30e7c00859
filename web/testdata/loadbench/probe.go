package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// probe sends a case's requests one after another from a few connections
// of its own while wrk overloads the server, and times each reply by what
// it said: wrk's percentiles mix the requests served with those refused at
// once. After a refusal a probe pauses 100 ms, and it stops with ctx.
func (b *bench) probe(ctx context.Context, c benchCase) (served, refused []time.Duration) {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Go(func() {
			for i := p; ctx.Err() == nil; i += 4 {
				body := strings.Replace(c.body, "{TOKEN}", c.tokens[i%len(c.tokens)], 1)
				start := time.Now()
				res, err := client.Post("http://"+b.addr+"/api.php", "application/json", strings.NewReader(body))
				if err != nil {
					continue
				}
				got, _ := io.ReadAll(res.Body)
				res.Body.Close()
				took := time.Since(start)
				if ctx.Err() != nil {
					return // cut short by the end of the run
				}
				mu.Lock()
				switch {
				case bytes.Contains(got, []byte(c.want)):
					served = append(served, took)
				case bytes.Contains(got, []byte(`"BUSY"`)):
					refused = append(refused, took)
				}
				mu.Unlock()
				if !bytes.Contains(got, []byte(c.want)) {
					time.Sleep(100 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	return served, refused
}

// p99 is the 99th percentile of ds with how many there were, or "-".
func p99(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	slices.Sort(ds)
	return fmt.Sprintf("%.0f ms of %d", float64(ds[len(ds)*99/100].Microseconds())/1000, len(ds))
}
