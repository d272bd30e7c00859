package web

import (
	"container/list"
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"roster/handlers"
	"roster/models"
)

// admission serves at most --request-slots protocol requests at once and
// queues the others in arrival order. A request that would wait longer for
// its turn than --queue-wait, or than is left of its deadline, is refused
// as it arrives with BUSY and retry_after: under overload the app hears at
// once when to come back, instead of after waiting out the deadline, and
// the queue stays short enough that the requests admitted are served in
// time.
//
// The expected wait is the queue ahead of the request times the mean time
// a request holds a slot (a moving average of the last ones, measured on
// the server's clock), divided by the slots: a slot frees that often.
type admission struct {
	clock   models.Clock
	slots   int
	maxWait time.Duration

	mu      sync.Mutex
	serving int
	queue   list.List     // of chan struct{}, closed when it is given a slot
	mean    time.Duration // of the time a slot is held; 0 until one is measured

	refused  prometheus.Counter
	arrivals atomic.Uint64 // requests that asked for a turn (memory_trim.go)
}

func newAdmission(clock models.Clock, cfg LoadConfig, reg *prometheus.Registry) *admission {
	a := &admission{clock: clock, slots: cfg.RequestSlots, maxWait: cfg.QueueWait,
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roster_api_refused_at_arrival_total",
			Help: "Protocol requests answered BUSY as they arrived: their expected wait for a turn was too long.",
		})}
	reg.MustRegister(a.refused,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "roster_api_requests_serving", Help: "Protocol requests being served (at most --request-slots)."},
			func() float64 { a.mu.Lock(); defer a.mu.Unlock(); return float64(a.serving) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "roster_api_requests_queued", Help: "Protocol requests waiting for their turn."},
			func() float64 { a.mu.Lock(); defer a.mu.Unlock(); return float64(a.queue.Len()) }))
	return a
}

// admit is the middleware: h runs in a slot, or the request is refused.
func (a *admission) admit(h fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		leave, err := a.enter(c.UserContext())
		if err != nil {
			return err
		}
		defer leave()
		return h(c)
	}
}

// enter waits for a slot and returns the function that gives it back, or
// refuses: BUSY at once when the expected wait is too long, ctx's error
// when its deadline passes while it waits.
func (a *admission) enter(ctx context.Context) (leave func(), err error) {
	a.arrivals.Add(1)
	a.mu.Lock()
	if a.serving < a.slots && a.queue.Len() == 0 {
		a.serving++
		a.mu.Unlock()
		return a.leaveFunc(), nil
	}
	wait := time.Duration(a.queue.Len()+1) * a.mean / time.Duration(a.slots)
	limit := a.maxWait
	if deadline, ok := ctx.Deadline(); ok {
		limit = min(limit, time.Until(deadline))
	}
	if wait > limit {
		a.mu.Unlock()
		a.refused.Inc()
		return nil, handlers.Busy(wait)
	}
	turn := make(chan struct{})
	e := a.queue.PushBack(turn)
	a.mu.Unlock()
	select {
	case <-turn:
		return a.leaveFunc(), nil
	case <-ctx.Done():
	}
	a.mu.Lock()
	select {
	case <-turn:
		// Given a slot as the deadline passed: it goes to the next one.
		a.mu.Unlock()
		a.pass()
	default:
		a.queue.Remove(e)
		a.mu.Unlock()
	}
	return nil, ctx.Err()
}

// leaveFunc starts timing a slot's use; the function it returns records the
// time and gives the slot to the next request waiting.
func (a *admission) leaveFunc() func() {
	start := a.clock.Now()
	return func() {
		held := max(a.clock.Now().Sub(start), 0)
		a.mu.Lock()
		if a.mean == 0 {
			a.mean = held
		} else {
			a.mean += (held - a.mean) / 8
		}
		a.mu.Unlock()
		a.pass()
	}
}

// pass gives a slot that is let go to the first request waiting, or frees it.
func (a *admission) pass() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if first := a.queue.Front(); first != nil {
		close(a.queue.Remove(first).(chan struct{}))
		return
	}
	a.serving--
}
