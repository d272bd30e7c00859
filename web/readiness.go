package web

import (
	"context"
	"errors"
	"time"

	"roster/models"
	"roster/views"
)

// health is the instance's readiness with its reasons. /readyz, which
// anyone can reach, answers only its status; the reasons (mesibo's replies,
// what is wrong with the database or its file) are on the dashboard's
// overview.
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

// databaseUnavailable is readiness's answer when the database does not
// answer: the process out of file descriptors says so (the database is
// not lost, and raising the limit or lowering --max-connections is the
// cure); anything else is not detailed.
func databaseUnavailable(err error) error {
	if models.OutOfFiles(err) {
		return errors.New("database unavailable: " + models.StorageFailure(err))
	}
	return errors.New("database unavailable")
}

// writeProbeReuse is how long a successful write check answers for the
// next ones: /readyz is public, and each check is a write through the one
// writer. A failure is not reused: recovery shows at the next check.
const writeProbeReuse = time.Second

// checkWritable is readiness's write check (models.DB.CheckWritable). The
// log says when the database starts and stops refusing writes; it recovers
// by itself: the next check that writes makes the server ready again.
func (s *Server) checkWritable(ctx context.Context) error {
	now := s.clock.Now()
	if ok := s.writeProbedOK.Load(); ok != 0 && now.UnixMilli() >= ok && now.UnixMilli()-ok < writeProbeReuse.Milliseconds() {
		return nil
	}
	err := s.db.CheckWritable(ctx, now)
	if err == nil {
		s.writeProbedOK.Store(now.UnixMilli())
	} else {
		s.writeProbedOK.Store(0)
	}
	was := s.writeRefused.Swap(err != nil)
	switch {
	case err != nil && !was:
		s.log.Error("the database refuses writes: not ready until it takes them again; reads are still answered", "err", err)
	case err == nil && was:
		s.log.Info("the database takes writes again")
	}
	return err
}
