package web_test

import (
	"bytes"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"roster/web"
	"roster/web/webtest"
)

// Log lines are held until the buffer is flushed: by a record at warn or
// above (which is written with every line before it, in order), or by
// Close. (The periodic flush is an hour away here.)
func TestLogBufferWritesInBlocks(t *testing.T) {
	var out bytes.Buffer
	b := web.NewLogBuffer(&out, time.Hour)
	log := slog.New(b.FlushOnWarn(slog.NewTextHandler(b, nil))).With("component", "test")
	log.Info("first")
	if out.Len() != 0 {
		t.Fatalf("an info line was written at once: %q", out.String())
	}
	log.Warn("second")
	got := out.String()
	if i, j := strings.Index(got, "msg=first"), strings.Index(got, "msg=second"); i < 0 || j < i {
		t.Fatalf("a warning did not write the lines before it and itself, in order: %q", got)
	}
	log.Info("third")
	if strings.Contains(out.String(), "third") {
		t.Fatalf("an info line after the warning was written at once: %q", out.String())
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "msg=third") {
		t.Fatalf("Close did not write the rest: %q", out.String())
	}
}

// --access-log=false drops the line per request, not the request's
// metrics; by default every request is logged.
func TestAccessLogSetting(t *testing.T) {
	for _, on := range []bool{true, false} {
		e := webtest.New(t, webtest.WithArgs("--access-log="+strconv.FormatBool(on)))
		e.JSON(map[string]any{"op": "nosuchop"}).ExpectFail(t, "BADOP")
		if logged := strings.Contains(e.Logs(), "msg=request"); logged != on {
			t.Errorf("--access-log=%v: request logged %v\n%s", on, logged, e.Logs())
		}
		if m := string(e.Metrics().Body); !strings.Contains(m, `roster_api_ops_total{op="other",result="BADOP"} 1`) {
			t.Errorf("--access-log=%v: the request is missing from the metrics:\n%s", on, m)
		}
	}
}
