package web

import (
	"errors"
	"flag"
	"runtime"
	"time"
)

// LoadConfig is how the server behaves under load: how many protocol
// requests it serves at once, how long a request may expect to wait for
// its turn, how much memory Go may hold before collecting harder, and
// whether each request is logged.
type LoadConfig struct {
	// RequestSlots is how many protocol requests are served at once; the
	// others wait their turn in arrival order (admission.go).
	RequestSlots int
	// QueueWait is the longest expected wait for a turn a request is
	// admitted with; one that would wait longer is answered BUSY at once.
	QueueWait time.Duration
	// MemoryLimitMB is Go's soft memory limit (debug.SetMemoryLimit) unless
	// GOMEMLIMIT is set; 0: none.
	MemoryLimitMB int
	// AccessLog writes one line per request at info level.
	AccessLog bool
}

// defaultRequestSlots keeps every core busy with requests that are
// computing while others wait for the database, and is at least the
// writer's largest batch (models' maxWriteBatch), so that queued writes
// still share commits.
func defaultRequestSlots() int { return max(32, 8*runtime.GOMAXPROCS(0)) }

func registerLoadFlags(fs *flag.FlagSet, l *LoadConfig) {
	fs.IntVar(&l.RequestSlots, "request-slots", defaultRequestSlots(), "protocol requests served at once; more wait their turn in arrival order")
	fs.DurationVar(&l.QueueWait, "queue-wait", 250*time.Millisecond, "longest expected wait for a turn: a protocol request that would wait longer (or past --request-timeout) is answered BUSY with retry_after at once")
	fs.IntVar(&l.MemoryLimitMB, "memory-limit-mb", 256, "Go's soft memory limit in MiB: the garbage collector works harder near it (GOMEMLIMIT, when set, wins; SQLite's caches and mapped database pages are outside it; 0 = none)")
	fs.BoolVar(&l.AccessLog, "access-log", true, "log one line per request at info level (about 200 bytes a request, written in blocks)")
}

func (l LoadConfig) check() []error {
	var errs []error
	if l.RequestSlots <= 0 || l.QueueWait <= 0 {
		errs = append(errs, errors.New("--request-slots and --queue-wait must be positive"))
	}
	if l.MemoryLimitMB < 0 {
		errs = append(errs, errors.New("--memory-limit-mb must not be negative"))
	}
	return errs
}
