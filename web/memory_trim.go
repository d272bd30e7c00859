package web

import (
	"context"
	"log/slog"
	"runtime"
	"runtime/debug"
	"time"

	"roster/models"
)

// Go collects garbage as the heap grows, and an idle server allocates
// nothing: without a nudge, the garbage, pools and buffers of a burst of
// requests stay resident until the next forced collection (every two
// minutes), and their pages go back to the operating system at the
// scavenger's slow pace after that. So once the arrivals of protocol
// requests fall to a tenth of the busiest interval since the last trim (or
// to none), the server collects twice (pooled objects survive one
// collection) and returns the free pages at once, after SQLite's writer
// has given back its page cache. At most one trim per interval, and none
// while the load holds.
const trimInterval = 10 * time.Second

// quietAfterBusy tells, interval by interval, when the load has fallen.
type quietAfterBusy struct {
	busiest uint64 // arrivals of the busiest interval since the last trim
}

// fell takes the arrivals of one interval and reports whether to trim now.
func (q *quietAfterBusy) fell(arrivals uint64) bool {
	q.busiest = max(q.busiest, arrivals)
	if q.busiest == 0 || arrivals*10 > q.busiest {
		return false
	}
	q.busiest = arrivals
	return true
}

// trimWhenQuiet counts arrivals every interval until ctx is done, and
// trims when they fall: the database first (SQLite's caches are outside
// Go's heap), then Go's heap.
func trimWhenQuiet(ctx context.Context, every time.Duration, arrivals func() uint64, db *models.DB, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	var q quietAfterBusy
	last := arrivals()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n := arrivals()
		if q.fell(n - last) {
			if err := db.ReleaseMemory(ctx); err != nil && ctx.Err() == nil {
				log.Warn("database: releasing the cache's memory failed", "err", err)
			}
			runtime.GC()
			debug.FreeOSMemory()
		}
		last = n
	}
}
