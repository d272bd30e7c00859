package web

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// LogBuffer gathers the server's log lines and writes them in blocks: at
// one line per request (the access log), a write to the terminal, a pipe or
// a file for each line cost the server a system call per request. Lines
// are written every flush interval, when the buffer is full, at once when a
// record at warn or above is logged (with every line before it, in order),
// and at Close. A crash can lose at most the last interval's info lines.
type LogBuffer struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

// NewLogBuffer buffers w, flushing it every interval until Close.
func NewLogBuffer(w io.Writer, every time.Duration) *LogBuffer {
	b := &LogBuffer{w: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-b.stop:
				return
			case <-t.C:
				_ = b.Flush()
			}
		}
	}()
	return b
}

// Write buffers one log record.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Write(p)
}

// Flush writes what is buffered.
func (b *LogBuffer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Flush()
}

// Close stops the periodic flush and writes the rest.
func (b *LogBuffer) Close() error {
	close(b.stop)
	<-b.done
	return b.Flush()
}

// FlushOnWarn wraps a handler writing to b so that a record at warn or
// above reaches the output at once.
func (b *LogBuffer) FlushOnWarn(h slog.Handler) slog.Handler {
	return flushOnWarn{Handler: h, buf: b}
}

type flushOnWarn struct {
	slog.Handler
	buf *LogBuffer
}

func (f flushOnWarn) Handle(ctx context.Context, r slog.Record) error {
	err := f.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		if ferr := f.buf.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (f flushOnWarn) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushOnWarn{Handler: f.Handler.WithAttrs(attrs), buf: f.buf}
}

func (f flushOnWarn) WithGroup(name string) slog.Handler {
	return flushOnWarn{Handler: f.Handler.WithGroup(name), buf: f.buf}
}
