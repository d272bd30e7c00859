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
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/oschwald/maxminddb-golang/v2"

	"roster/handlers"
	"roster/models"
	"roster/web/clientip"
	"roster/web/delivery"
	"roster/web/mesibo"
	"roster/web/push"
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
	// Database, when set, is used instead of the data directory's SQLite
	// file (the tests' PostgreSQL databases); the server closes it.
	Database *models.DB
	// Push tunes the push worker (tests: its retry delays); zero fields
	// take --push-concurrency, --push-rate and the worker's defaults.
	Push push.WorkerConfig
	// PushClient replaces the providers' HTTP client (tests trust their
	// fake APNs' certificate).
	PushClient *http.Client
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
	pusher  *push.Worker // nil unless --push names a provider
	metrics *metrics
	admin   *handlers.Admin
	admins  *models.Admins

	events      *models.Events
	presence    *models.Presence
	bus         *models.Bus // PostgreSQL: live events across instances
	contacts    *models.Contacts
	accounts    *models.Accounts  // users' own account changes; its chore deletes pending deletions
	geoIP       *maxminddb.Reader // --geoip-db: sessions' countries; nil without one
	sessions    *models.Sessions
	signIn      *models.SignIn
	files       models.FileStore // profile photos and uploads
	streamsDone chan struct{}    // closed at shutdown: live event streams end
	stopStreams sync.Once
	mesibo      *mesibo.Health // nil unless mesibo mode is on
	clientIP    *clientip.Resolver
	// metricsToken admits scrapes of /metrics on the main address
	// (ROSTER_METRICS_TOKEN; "" = not served there).
	metricsToken  string
	metricsApp    *fiber.App
	admission     *admission   // protocol requests wait their turn here (admission.go)
	dbLost        atomic.Bool  // the SQLite file is gone, replaced or unwritable (CheckDatabase)
	writeRefused  atomic.Bool  // the last readiness check found the database refusing writes
	writeProbedOK atomic.Int64 // when a readiness write last went through, unix ms (0: not lately)
	dirLock       *dataDirLock // held while a SQLite data directory is served (datadir_lock.go)
	closeOnce     sync.Once
	closeErr      error

	receipts *handlers.Receipts // the providers' delivery receipt callbacks
}

// New opens the database (applying migrations) and builds the app.
func New(ctx context.Context, cfg Config, log *slog.Logger, opts Options) (*Server, error) {
	if opts.Clock == nil {
		opts.Clock = models.SystemClock{}
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	getenv, err := withSecretFiles(opts.Getenv, log)
	if err != nil {
		return nil, err
	}
	opts.Getenv = getenv
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
	clientIP, err := clientip.New(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("--trusted-proxies: %w", err)
	}
	metricsToken := opts.Getenv("ROSTER_METRICS_TOKEN")
	if metricsToken != "" && len(metricsToken) < 32 {
		return nil, errors.New("ROSTER_METRICS_TOKEN must be at least 32 characters")
	}
	// The database first: whether a missing generated secret may be made
	// anew depends on what the database holds.
	db := opts.Database
	var dirLock *dataDirLock
	if db == nil {
		if dirLock, err = lockServedDataDir(cfg); err != nil {
			return nil, err
		}
		if db, err = openDatabase(ctx, cfg, log); err != nil {
			dirLock.release()
			return nil, err
		}
	}
	s, err := build(ctx, cfg, log, opts, db, clientIP, metricsToken)
	if err != nil {
		db.Close()
		dirLock.release()
		return nil, err
	}
	s.dirLock = dirLock
	return s, nil
}

// build makes the services and the app over an open database.
func build(ctx context.Context, cfg Config, log *slog.Logger, opts Options, db *models.DB, clientIP *clientip.Resolver, metricsToken string) (*Server, error) {
	mesiboMode, err := mesiboSetup(cfg, opts.Getenv, log, opts.Clock, db)
	if err != nil {
		return nil, err
	}
	if mesiboMode.jobs != nil {
		opts.Senders = append(opts.Senders, mesiboMode.jobs)
	}
	codeKey, err := loadCheckedSecret(ctx, cfg, db, opts.Clock, log, "otp", opts.Getenv("ROSTER_OTP_KEY"))
	if err != nil {
		return nil, err
	}
	contactsKey, err := loadCheckedSecret(ctx, cfg, db, opts.Clock, log, "contacts", opts.Getenv("ROSTER_CONTACTS_KEY"))
	if err != nil {
		return nil, err
	}
	// The high-water mark of the clock keeps stored change times from going
	// below a reply's ts (models.HighWaterClock).
	s := &Server{cfg: cfg, log: log, clock: models.NewHighWaterClock(opts.Clock), db: db, streamsDone: make(chan struct{}), metrics: newMetrics(),
		mesibo: mesiboMode.health, clientIP: clientIP, metricsToken: metricsToken}
	s.metrics.watchMesibo(s.mesibo)
	hasher := models.NewPhoneHasher(contactsKey)
	delays := models.NewSteadyClock(opts.Clock) // retry delays and leases: a clock stepped back does not lengthen them
	// This instance's live streams, in the database: devices with one get no push.
	s.presence = models.NewPresence(db, s.clock, cfg.People.EventHeartbeat)
	if err := s.setUpPush(opts, delays); err != nil {
		return nil, err
	}
	s.events = models.NewEvents(db, s.clock, log, models.EventsConfig{AppName: cfg.AppName,
		Retention: cfg.People.EventRetention, Chunk: cfg.People.FanoutChunk, Sinks: opts.NoticeSinks,
		MesiboNotices: mesiboMode.jobs != nil, OnQueued: func() { s.worker.Wake() },
		PushProviders: cfg.Push.Providers, OnPushQueued: s.wakePusher,
		StreamsPerSession: cfg.People.StreamsPerSession, StreamsPerUser: cfg.People.StreamsPerUser})
	if db.Postgres() {
		// Several instances may share the database: their streams hear of
		// each other's events and revocations.
		s.bus = models.NewBus(db, s.events.Hub(), log, cfg.People.EventPoll)
	}
	s.outbox = models.NewOutbox(db, s.clock, delays, time.Minute, delivery.Console{}.Name())
	s.worker = delivery.NewWorker(s.outbox, delays, log, opts.Worker, opts.Senders...)
	sessions := models.NewSessions(db, s.clock, cfg.SessionTouch)
	sessions.OnRevoked(s.events.Hub().RevokeSessions)
	if mesiboMode.issuer == nil {
		sessions.RememberUnknownTokens()
	}
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
		AppIDs:      cfg.Delivery.AppIDs,
		Hasher:      hasher,
		Events:      s.events,
		Sessions:    sessions,

		GroupsPerUser: cfg.People.Groups.MaxPerUser,
		RecycleAfter:  cfg.RecycleAfter,
		Fraud:         s.fraudPolicy(),
	})
	s.outbox.OnCodeUndelivered(signIn.FallBack)
	s.signIn = signIn
	if s.receipts, err = newReceipts(cfg, opts.Getenv, s.outbox); err != nil {
		return nil, err
	}
	files, err := openFiles(ctx, cfg, opts.Getenv)
	if err != nil {
		return nil, err
	}
	s.files = files
	if s.geoIP, err = openGeoIP(cfg.GeoIPDB); err != nil {
		return nil, err
	}
	log.Info("uploaded files", "store", files.Describe())
	photos := models.NewPhotos(files, cfg.People.PhotoLimits())
	s.contacts = models.NewContacts(db, s.clock, hasher, cfg.People.Contacts)
	if n, err := s.contacts.BackfillHashes(ctx); err != nil {
		return nil, err
	} else if n > 0 {
		log.Info("set the contact hash of existing users", "users", n)
	}
	profiles := models.NewProfiles(db, s.clock, s.events, photos) // the app's and the dashboard's moderation
	groups := models.NewGroups(db, s.clock, s.events, photos, hasher, groupsConfig(cfg, mesiboMode.jobs != nil))
	s.accounts = models.NewAccounts(db, s.clock, sessions, s.events, files, cfg.DeletionGrace, hasher)
	s.api = handlers.NewAPI(handlers.Services{
		SignIn: signIn, Sessions: sessions, Contacts: s.contacts, Photos: photos, Events: s.events, Clock: s.clock,
		Uploads:       models.NewUploads(db, s.clock, cfg.People.UploadsPerDay),
		Profiles:      profiles,
		Groups:        groups,
		Accounts:      s.accounts,
		FilesRedirect: filesRedirect(cfg.Files),
		Country:       s.clientCountry,
	}, handlers.ClientConfig{
		UploadURL:    cfg.BaseURL + "/api.php",
		DownloadURL:  cfg.BaseURL + "/files/",
		ShareText:    cfg.ShareText,
		ShareSubject: "Join me on " + cfg.AppName,
		ShareTitle:   "Invite friends to " + cfg.AppName,
		InviteText:   cfg.InviteText,
		ExportURL:    cfg.BaseURL + "/api/export",
	})
	s.sessions = sessions
	if err := s.setUpAdmin(ctx, opts, sessions, signIn, profiles, groups, codeKey); err != nil {
		return nil, err
	}
	s.app = s.newApp()
	s.metricsApp = s.newMetricsApp()
	warnRealTestNumbers(cfg, log)
	warnDescriptorLimit(cfg, db, log)
	if cfg.DemoCode != "" {
		log.Warn("DEMO-CODE MODE IS ON: every phone number signs in with one fixed code; never run production like this")
	}
	return s, nil
}

// warnRealTestNumbers warns about test numbers in assigned ranges: someone
// may own such a number, and it signs in with a code that is never sent.
func warnRealTestNumbers(cfg Config, log *slog.Logger) {
	for n := range cfg.TestNumbers {
		if p, err := models.ParsePhone(n, "", ""); err == nil && p.CheckValid() == nil {
			log.Warn("a test number is in an assigned range: it may belong to a real person, whose account the fixed code then opens; prefer a fictional range such as +1 555 01xx", "number", n)
		}
	}
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

// SignIn is the sign-in service (tests write its queued refusals with
// FlushRefusals before they read the audit log).
func (s *Server) SignIn() *models.SignIn { return s.signIn }

// MetricsApp serves /metrics alone (on --metrics-addr; tests scrape it).
func (s *Server) MetricsApp() *fiber.App { return s.metricsApp }

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
	wg.Go(func() { s.watchDatabase(workCtx, databaseCheckInterval) })
	wg.Go(func() { s.events.Run(workCtx) })
	wg.Go(func() { s.contacts.RunSyncLog(workCtx, time.Second, s.log) })
	wg.Go(func() { s.signIn.RunRefusalLog(workCtx, time.Second, s.log) })
	wg.Go(func() { s.db.RunAnalyze(workCtx, 6*time.Hour, s.log) })
	wg.Go(func() { s.db.RunCheckpoints(workCtx, 100*time.Millisecond, s.log) })
	wg.Go(func() { trimWhenQuiet(workCtx, trimInterval, s.admission.arrivals.Load, s.db, s.log) })
	if s.bus != nil {
		startCtx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
		start := s.bus.Position(startCtx)
		cancel()
		wg.Go(func() { s.bus.Run(workCtx, start) })
	}
	wg.Go(func() { s.presence.Run(workCtx, s.log) })
	if s.pusher != nil {
		wg.Go(func() { s.pusher.Run(workCtx) })
	}

	tracked := trackConns(ln, s.log, connLimits{max: s.cfg.MaxConnections, perIP: s.cfg.MaxConnectionsPerIP, trusted: s.clientIP.IsTrusted})
	serveErr := make(chan error, 1)
	if s.cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", s.cfg.MetricsAddr)
		if err != nil {
			stopWork()
			wg.Wait()
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		go func() { _ = s.metricsApp.Listener(mln) }()
		defer func() { _ = s.metricsApp.Shutdown() }()
		s.log.Info("metrics are served on their own address", "addr", mln.Addr().String())
	}
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
		// Told to stop before the listener goroutine began to serve, the
		// app's shutdown found no listener to close: closing it here makes
		// that late start return at once.
		_ = tracked.Close()
		err = <-serveErr
	}
	stopWork()
	wg.Wait()
	return err
}

// pruneLoop deletes expired sign-in records, and accounts at the end of
// their deletion grace period, now and then every interval.
func (s *Server) pruneLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.Prune(ctx)
		s.DeletePendingAccounts(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Prune deletes records older than the retention period.
// With several instances on one PostgreSQL, one of them prunes each round.
func (s *Server) Prune(ctx context.Context) {
	var n int64
	_, err := s.db.OnOneInstance(ctx, models.ChorePrune, func() error {
		var err error
		n, err = models.PruneSignIn(ctx, s.db, s.clock.Now().Add(-s.cfg.Retention))
		if err != nil {
			return err
		}
		audit, err := models.PruneAudit(ctx, s.db, s.clock.Now().Add(-s.cfg.AuditRetention))
		n += audit
		if err != nil {
			return err
		}
		tokens, err := models.PrunePushTokens(ctx, s.db, s.clock.Now().Add(-pushTokenIdle), s.clock.Now())
		n += tokens
		if err != nil {
			return err
		}
		groups, err := models.PruneGroups(ctx, s.db, s.clock.Now().Add(-s.cfg.TokenLifetime))
		n += groups
		return err
	})
	if err != nil && ctx.Err() == nil {
		s.log.Error("pruning old records failed", "err", err)
		return
	}
	if n > 0 {
		s.log.Info("pruned old records", "rows", n)
	}
}

// DeletePendingAccounts deletes the accounts whose deletion grace period
// is over (models.Accounts.DeletePending). With several instances on one
// PostgreSQL, one of them does it each round; each deletion is safe on its
// own too.
func (s *Server) DeletePendingAccounts(ctx context.Context) {
	var n int
	_, err := s.db.OnOneInstance(ctx, models.ChoreDeletePending, func() error {
		var err error
		n, err = s.accounts.DeletePending(ctx)
		return err
	})
	if err != nil && ctx.Err() == nil {
		s.log.Error("deleting accounts at the end of their grace period failed", "err", err, "deleted", n)
		return
	}
	if n > 0 {
		s.log.Info("deleted accounts at the end of their grace period", "accounts", n)
	}
}

// Close writes the sync records and fraud guard refusals still queued and
// releases the database and the data directory; closing again returns the
// first answer.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := s.contacts.FlushSyncs(ctx)
		err = errors.Join(err, s.signIn.FlushRefusals(ctx))
		s.closeErr = errors.Join(err, s.closeGeoIP(), s.db.Close(), s.dirLock.release())
	})
	return s.closeErr
}

// Ready reports whether the server can answer requests: the database
// answers, its file is the one opened, and it takes writes (readiness.go).
func (s *Server) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.db.Ping(ctx); err != nil {
		return databaseUnavailable(err)
	}
	if err := s.db.FileHealth(); err != nil {
		return err
	}
	return s.checkWritable(ctx)
}
