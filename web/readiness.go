package web

import (
	"context"
	"errors"

	"roster/models"
)

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

// checkWritable is readiness's write check (models.DB.CheckWritable). The
// log says when the database starts and stops refusing writes; it recovers
// by itself: the next check that writes makes the server ready again.
func (s *Server) checkWritable(ctx context.Context) error {
	err := s.db.CheckWritable(ctx, s.clock.Now())
	was := s.writeRefused.Swap(err != nil)
	switch {
	case err != nil && !was:
		s.log.Error("the database refuses writes: not ready until it takes them again; reads are still answered", "err", err)
	case err == nil && was:
		s.log.Info("the database takes writes again")
	}
	return err
}
