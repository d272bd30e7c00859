// Package web assembles Roster: configuration, database, services, the Fiber
// app with its middleware, routes and error handler, and background workers.
package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"roster/handlers"
	"roster/models"
	"roster/web/delivery"
	"roster/web/mesibo"
)

// Options are the dependencies a caller may replace; tests use them to
// inject a fake clock and fake delivery channels. Zero values mean the real ones.
type Options struct {
	Clock   models.Clock
	Senders []delivery.Sender
	Worker  delivery.WorkerConfig
	Getenv  func(string) string // for secrets; default os.Getenv
	// SMTPTLS replaces the SMTP channel's TLS settings (tests trust their own CA).
	SMTPTLS *tls.Config
	// BcryptCost of admin passwords; 0 means bcrypt's default (tests lower it).
	BcryptCost int
	// NoticeSinks receive every join/profile notice besides the event
	// streams (the mesibo client, when configured). None by default.
	NoticeSinks []models.NoticeSink
}

// Server is a configured Roster instance.
type Server struct {
	cfg     Config
	log     *slog.Logger
	clock   models.Clock
	db      *models.DB
	app     *fiber.App
	api     *handlers.API
	worker  *delivery.Worker
	outbox  *models.Outbox
	metrics *metrics
	admin   *handlers.Admin
	admins  *models.Admins

	events      *models.Events
	contacts    *models.Contacts
	sessions    *models.Sessions
	streamsDone chan struct{} // closed at shutdown: live event streams end
	stopStreams sync.Once
	mesibo      *mesibo.Health // nil unless mesibo mode is on
}

// New opens the database (applying migrations) and builds the app.
func New(ctx context.Context, cfg Config, log *slog.Logger, opts Options) (*Server, error) {
	if opts.Clock == nil {
		opts.Clock = models.SystemClock{}
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Worker == (delivery.WorkerConfig{}) {
		opts.Worker = delivery.DefaultWorkerConfig()
	}
	if len(opts.Senders) == 0 {
		senders, err := deliverySenders(cfg, log, opts.Clock, opts.Getenv, opts.SMTPTLS)
		if err != nil {
			return nil, err
		}
		opts.Senders = senders
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	mesiboMode, err := mesiboSetup(cfg, opts.Getenv, log, opts.Clock)
	if err != nil {
		return nil, err
	}
	if mesiboMode.jobs != nil {
		opts.Senders = append(opts.Senders, mesiboMode.jobs)
	}
	codeKey, err := LoadSecret(cfg.DataDir, "otp", opts.Getenv("ROSTER_OTP_KEY"))
	if err != nil {
		return nil, err
	}
	contactsKey, err := LoadSecret(cfg.DataDir, "contacts", opts.Getenv("ROSTER_CONTACTS_KEY"))
	if err != nil {
		return nil, err
	}
	db, err := models.Open(ctx, filepath.Join(cfg.DataDir, "roster.db"), log)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, clock: opts.Clock, db: db, streamsDone: make(chan struct{}), metrics: newMetrics(),
		mesibo: mesiboMode.health}
	s.metrics.watchMesibo(s.mesibo)
	hasher := models.NewPhoneHasher(contactsKey)
	s.events = models.NewEvents(db, s.clock, log, models.EventsConfig{AppName: cfg.AppName,
		Retention: cfg.People.EventRetention, Chunk: cfg.People.FanoutChunk, Sinks: opts.NoticeSinks,
		MesiboNotices: mesiboMode.jobs != nil, OnQueued: func() { s.worker.Wake() }})
	s.outbox = models.NewOutbox(db, s.clock, time.Minute, delivery.Console{}.Name())
	s.worker = delivery.NewWorker(s.outbox, s.clock, log, opts.Worker, opts.Senders...)
	signIn := models.NewSignIn(db, s.clock, models.SignInConfig{
		Policy:      cfg.OTP,
		CodeKey:     codeKey,
		TestNumbers: cfg.TestNumbers,
		DemoCode:    cfg.DemoCode,
		TokenTTL:    cfg.TokenLifetime,
		Channel:     cfg.Delivery.firstChannel(),
		Message:     codeMessage(cfg),
		OnQueued:    s.worker.Wake,
		Delivery:    deliveryPolicy(cfg),
		Issuer:      mesiboMode.issuer,
		SealKey:     mesiboMode.sealKey,
		AppIDs:      cfg.Delivery.AppIDs,
		Hasher:      hasher,
		Events:      s.events,
	})
	sessions := models.NewSessions(db, s.clock, cfg.SessionTouch)
	sessions.OnRevoked(s.events.Hub().RevokeSessions)
	photos, err := models.NewPhotos(filepath.Join(cfg.DataDir, "files"), cfg.People.PhotoLimits())
	if err != nil {
		db.Close()
		return nil, err
	}
	s.contacts = models.NewContacts(db, s.clock, hasher, cfg.People.Contacts)
	if n, err := s.contacts.BackfillHashes(ctx); err != nil {
		db.Close()
		return nil, err
	} else if n > 0 {
		log.Info("set the contact hash of existing users", "users", n)
	}
	profiles := models.NewProfiles(db, s.clock, s.events, photos) // the app's and the dashboard's moderation
	s.api = handlers.NewAPI(handlers.Services{
		SignIn: signIn, Sessions: sessions, Contacts: s.contacts, Photos: photos, Events: s.events, Clock: s.clock,
		Uploads:  models.NewUploads(db, s.clock, cfg.People.UploadsPerDay),
		Profiles: profiles,
	}, handlers.ClientConfig{
		UploadURL:    cfg.BaseURL + "/api.php",
		DownloadURL:  cfg.BaseURL + "/files/",
		ShareText:    cfg.ShareText,
		ShareSubject: "Join me on " + cfg.AppName,
		ShareTitle:   "Invite friends to " + cfg.AppName,
		InviteText:   cfg.InviteText,
	})
	s.sessions = sessions
	if err := s.setUpAdmin(ctx, opts, sessions, signIn, profiles); err != nil {
		db.Close()
		return nil, err
	}
	s.app = s.newApp()
	if cfg.DemoCode != "" {
		log.Warn("DEMO-CODE MODE IS ON: every phone number signs in with one fixed code; never run production like this")
	}
	return s, nil
}

func codeMessage(cfg Config) func(code string) string {
	minutes := int(cfg.OTP.TTL.Round(time.Minute) / time.Minute)
	return func(code string) string {
		return fmt.Sprintf("%s is your %s code. It is valid for %d minutes. Do not share it.", code, cfg.AppName, max(minutes, 1))
	}
}

// App is the HTTP application (for tests: app.Test).
func (s *Server) App() *fiber.App { return s.app }

// Worker is the delivery worker (tests run it step by step with RunOnce).
func (s *Server) Worker() *delivery.Worker { return s.worker }

// Events is the notices service (tests run its fan-out step by step with RunOnce).
func (s *Server) Events() *models.Events { return s.events }

// Contacts is the contact-sync service (the dashboard reads sync state from it).
func (s *Server) Contacts() *models.Contacts { return s.contacts }

// DB is the database.
func (s *Server) DB() *models.DB { return s.db }

// Serve answers requests on ln and runs the background workers until ctx is
// done, then shuts down gracefully: it stops accepting connections, lets
// in-flight requests finish (up to the shutdown timeout) and stops the workers.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	workCtx, stopWork := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.worker.Run(workCtx) })
	wg.Go(func() { s.pruneLoop(workCtx, time.Hour) })
	wg.Go(func() { s.events.Run(workCtx) })

	tracked := trackConns(ln)
	serveErr := make(chan error, 1)
	go func() { serveErr <- s.app.Listener(tracked) }()
	s.log.Info("roster is listening", "addr", ln.Addr().String(), "base_url", s.cfg.BaseURL)

	var err error
	select {
	case err = <-serveErr:
	case <-ctx.Done():
		s.log.Info("shutting down: finishing in-flight requests", "timeout", s.cfg.ShutdownTimeout)
		s.stopStreams.Do(func() { close(s.streamsDone) })
		shutdownCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		if s.app.ShutdownWithContext(shutdownCtx) != nil {
			// The grace period is over: cut what is still connected.
			s.log.Warn("shutdown: closing connections still open after the grace period", "connections", tracked.closeAll())
		}
		cancel()
		err = <-serveErr
	}
	stopWork()
	wg.Wait()
	return err
}

// pruneLoop deletes expired sign-in records now and then every interval.
func (s *Server) pruneLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.Prune(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Prune deletes records older than the retention period.
func (s *Server) Prune(ctx context.Context) {
	n, err := models.PruneSignIn(ctx, s.db, s.clock.Now().Add(-s.cfg.Retention))
	if err != nil && ctx.Err() == nil {
		s.log.Error("pruning old records failed", "err", err)
		return
	}
	if n > 0 {
		s.log.Info("pruned old records", "rows", n)
	}
}

// Close releases the database.
func (s *Server) Close() error { return s.db.Close() }

// Ready reports whether the server can answer requests (the database answers).
func (s *Server) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.db.Ping(ctx); err != nil {
		return errors.New("database unavailable")
	}
	return nil
}
