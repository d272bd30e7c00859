package mesibo

import (
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"
)

// What is known of mesibo mode's configuration: a failure that says the
// request itself is wrong marks the op degraded (banner, metric, /readyz)
// until the op succeeds again.

// Health is what is known of mesibo mode's configuration: the ops whose
// last call failed for a configuration reason. A later success of the op
// clears it. Its methods accept a nil *Health (no recording).
type Health struct {
	log *slog.Logger
	now func() time.Time

	mu       sync.Mutex
	problems map[string]Problem
}

// Problem is one op's configuration failure.
type Problem struct {
	Op    string
	Error string // the failure's loggable text
	Since time.Time
}

// NewHealth returns an empty (healthy) record; log receives the changes.
func NewHealth(log *slog.Logger, now func() time.Time) *Health {
	return &Health{log: log, now: now, problems: map[string]Problem{}}
}

func (h *Health) fail(op string, e *Error) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	p, had := h.problems[op]
	if !had {
		p.Since = h.now()
	}
	p.Op, p.Error = op, e.Error()
	h.problems[op] = p
	if !had && h.log != nil {
		h.log.Error("mesibo mode degraded: mesibo refuses Roster's requests; fix the configuration (app token, --mesibo-api-url)",
			"op", op, "err", p.Error)
	}
}

func (h *Health) ok(op string) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, had := h.problems[op]; had {
		delete(h.problems, op)
		if h.log != nil {
			h.log.Info("mesibo: the op works again", "op", op, "degraded", len(h.problems) > 0)
		}
	}
}

// Problems lists the current problems by op.
func (h *Health) Problems() []Problem {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Problem, 0, len(h.problems))
	for _, p := range h.problems {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Op < out[j].Op })
	return out
}

// Degraded tells whether some op fails for a configuration reason.
func (h *Health) Degraded() bool { return len(h.Problems()) > 0 }

// Summary is one line naming the failing ops ("" when healthy).
func (h *Health) Summary() string {
	var parts []string
	for _, p := range h.Problems() {
		parts = append(parts, p.Error)
	}
	return strings.Join(parts, "; ")
}
