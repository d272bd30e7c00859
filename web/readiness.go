package web

import (
	"context"

	"roster/views"
)

// health is the instance's readiness with its reasons. /readyz, which
// anyone can reach, answers only its status; the reasons (mesibo's replies,
// what is wrong with the database file) are on the dashboard's overview.
func (s *Server) health(ctx context.Context) views.HealthVM {
	var h views.HealthVM
	if err := s.Ready(ctx); err != nil {
		h.Problems = append(h.Problems, err.Error())
	}
	// A degraded mesibo mode is always reported; whether it makes the
	// instance unready is the operator's choice (restarting or moving
	// traffic does not fix a wrong app token).
	if s.mesibo.Degraded() {
		text := "mesibo mode degraded: " + s.mesibo.Summary()
		if s.cfg.Delivery.MesiboDegradedUnready {
			h.Problems = append(h.Problems, text+" (--mesibo-degraded-unready)")
		} else {
			h.Notes = append(h.Notes, text+" (not counted against readiness without --mesibo-degraded-unready)")
		}
	}
	return h
}
