package web

import (
	"time"

	"roster/models"
	"roster/web/push"
)

// pushTokenIdle is how long a session's push token is kept without the
// app being used: FCM treats a token unused for 270 days as expired.
const pushTokenIdle = 270 * 24 * time.Hour

// setUpPush builds the push worker when --push names a provider; a
// provider without readable credentials stops the start.
func (s *Server) setUpPush(opts Options, delays models.Clock) error {
	if len(s.cfg.Push.Providers) == 0 {
		return nil
	}
	providers, err := pushProviders(s.cfg.Push, s.log, s.clock, opts.PushClient)
	if err != nil {
		return err
	}
	wc := opts.Push
	if wc.Concurrency == 0 {
		wc.Concurrency = s.cfg.Push.Concurrency
	}
	if wc.RatePerSecond == 0 {
		wc.RatePerSecond = s.cfg.Push.RatePerSecond
	}
	pushes := models.NewPushes(s.db, s.clock, delays, 2*s.cfg.Push.Timeout+time.Minute)
	s.pusher = push.NewWorker(pushes, delays, s.log, wc, providers...)
	s.pusher.Observe = s.metrics.observePush
	s.log.Info("push notifications are on", "providers", s.cfg.Push.Providers)
	return nil
}

// wakePusher tells the push worker that jobs were queued.
func (s *Server) wakePusher() {
	if s.pusher != nil {
		s.pusher.Wake()
	}
}

// Pusher is the push worker, nil when push is off (tests run it step by
// step with RunOnce).
func (s *Server) Pusher() *push.Worker { return s.pusher }
