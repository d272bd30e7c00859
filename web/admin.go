package web

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gorilla/sessions"

	"roster/handlers"
	"roster/models"
	"roster/views"
)

// adminCookie is the dashboard's session cookie: a gorilla/sessions cookie,
// signed and encrypted, holding only the server-side session id (so a
// session can be revoked) or, before sign-in, the sign-in form's CSRF token.
type adminCookie struct {
	store *sessions.CookieStore
	name  string
	// known is a second cookie, kept for knownBrowserFor: the admin this
	// browser signed in as, which lets its sign-ins skip the name's wait.
	known     *sessions.CookieStore
	knownName string
}

// knownBrowserFor is how long a browser that signed in stays known to the
// login throttle.
const knownBrowserFor = 90 * 24 * time.Hour

func newAdminCookie(hashKey, blockKey []byte, secure bool, maxAgeSeconds int) *adminCookie {
	// Keys of any length from the environment become the sizes securecookie wants.
	h := sha256.Sum256(hashKey)
	b := sha256.Sum256(blockKey)
	store := sessions.NewCookieStore(h[:], b[:])
	// Every option is set: the store's defaults (SameSite=None, HttpOnly
	// off, 30 days) are wrong for an admin UI.
	store.Options = &sessions.Options{Path: "/", MaxAge: maxAgeSeconds, Secure: secure, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	store.MaxAge(maxAgeSeconds)
	known := sessions.NewCookieStore(h[:], b[:])
	knownAge := int(knownBrowserFor.Seconds())
	known.Options = &sessions.Options{Path: "/", MaxAge: knownAge, Secure: secure, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	known.MaxAge(knownAge)
	name := "roster_admin"
	if secure {
		name = "__Host-roster_admin" // Secure, Path=/ and no Domain: cannot be set by a sibling host
	}
	return &adminCookie{store: store, name: name, known: known, knownName: name + "_known"}
}

// request builds the part of a net/http request that gorilla reads: the cookies.
func (a *adminCookie) request(c *fiber.Ctx) *http.Request {
	r, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "/", nil)
	if v := c.Get(fiber.HeaderCookie); v != "" {
		r.Header.Set("Cookie", v)
	}
	return r
}

// headerWriter collects the headers gorilla writes, for copying to Fiber.
type headerWriter struct{ h http.Header }

func (w *headerWriter) Header() http.Header         { return w.h }
func (w *headerWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *headerWriter) WriteHeader(int)             {}

func (a *adminCookie) Load(c *fiber.Ctx) (string, string, string) {
	s, err := a.store.New(a.request(c), a.name)
	if err != nil || s.IsNew {
		return "", "", ""
	}
	sid, _ := s.Values["sid"].(string)
	login, _ := s.Values["login"].(string)
	flash, _ := s.Values["flash"].(string)
	return sid, login, flash
}

func (a *adminCookie) save(c *fiber.Ctx, sid, login, flash string, maxAge int) error {
	r := a.request(c)
	s := sessions.NewSession(a.store, a.name)
	opts := *a.store.Options
	opts.MaxAge = maxAge
	s.Options = &opts
	s.Values["sid"] = sid
	s.Values["login"] = login
	if flash != "" {
		s.Values["flash"] = flash
	}
	w := &headerWriter{h: http.Header{}}
	if err := a.store.Save(r, w, s); err != nil {
		return fmt.Errorf("save the admin cookie: %w", err)
	}
	for _, v := range w.h.Values("Set-Cookie") {
		c.Response().Header.Add(fiber.HeaderSetCookie, v)
	}
	return nil
}

func (a *adminCookie) Save(c *fiber.Ctx, sid, login, flash string) error {
	return a.save(c, sid, login, flash, a.store.Options.MaxAge)
}

func (a *adminCookie) Clear(c *fiber.Ctx) error { return a.save(c, "", "", "", -1) }

func (a *adminCookie) KnownAdmin(c *fiber.Ctx) int64 {
	s, err := a.known.New(a.request(c), a.knownName)
	if err != nil || s.IsNew {
		return 0
	}
	id, _ := s.Values["admin"].(int64)
	return id
}

func (a *adminCookie) RememberAdmin(c *fiber.Ctx, adminID int64) error {
	s := sessions.NewSession(a.known, a.knownName)
	opts := *a.known.Options
	s.Options = &opts
	s.Values["admin"] = adminID
	w := &headerWriter{h: http.Header{}}
	if err := a.known.Save(a.request(c), w, s); err != nil {
		return fmt.Errorf("save the known-browser cookie: %w", err)
	}
	for _, v := range w.h.Values("Set-Cookie") {
		c.Response().Header.Add(fiber.HeaderSetCookie, v)
	}
	return nil
}

// setUpAdmin builds the dashboard: cookie keys, the first owner account,
// handlers. The administrators' TOTP secrets are sealed under a key derived
// from the OTP key (otpKey).
func (s *Server) setUpAdmin(ctx context.Context, opts Options, sessionsStore *models.Sessions, signIn *models.SignIn, profiles *models.Profiles, groups *models.Groups, otpKey []byte) error {
	getenv := opts.Getenv
	hashKey, err := LoadSecret(secretsDir(s.cfg), "cookie-auth", getenv("ROSTER_COOKIE_HASH_KEY"), secretGuard(ctx, s.db, "cookie-auth"))
	if err != nil {
		return err
	}
	blockKey, err := LoadSecret(secretsDir(s.cfg), "cookie-enc", getenv("ROSTER_COOKIE_BLOCK_KEY"), secretGuard(ctx, s.db, "cookie-enc"))
	if err != nil {
		return err
	}
	policy := models.DefaultAdminPolicy()
	policy.SecretKey = models.SecondFactorKey(otpKey)
	if opts.BcryptCost != 0 {
		policy.BcryptCost = opts.BcryptCost
	}
	admins := models.NewAdmins(s.db, s.clock, policy)
	ownerName := getenv("ROSTER_ADMIN_NAME")
	if ownerName == "" {
		ownerName = models.DefaultOwnerName
	}
	created, generated, err := admins.EnsureOwner(ctx, ownerName, getenv("ROSTER_ADMIN_PASSWORD"))
	if err != nil {
		return fmt.Errorf("create the first admin (ROSTER_ADMIN_NAME %q): %w", ownerName, err)
	}
	switch {
	case created && generated != "":
		// The password goes to a file only its owner can read, never to the
		// log (logs are shipped, kept and read by more people than the
		// server's account).
		path, err := writeOwnerPassword(s.cfg.DataDir, generated)
		if err != nil {
			return fmt.Errorf("write the first owner's password: %w", err)
		}
		s.log.Warn("created the dashboard owner account; its password is in a file readable only by this account: sign in, change or note it, and delete the file",
			"name", ownerName, "password_file", path, "url", s.cfg.BaseURL+"/admin/")
	case created:
		s.log.Info("created the dashboard owner account from ROSTER_ADMIN_PASSWORD", "name", ownerName)
	}
	secure := strings.HasPrefix(s.cfg.BaseURL, "https://")
	cookie := newAdminCookie(hashKey, blockKey, secure, int(policy.AbsoluteTimeout.Seconds()))
	dash := models.NewDashboard(s.db, s.clock)
	actions := models.NewUserActions(s.db, s.clock, sessionsStore, s.files, profiles)
	s.admin = handlers.NewAdmin(admins, dash, actions, groups, models.NewContactSyncReader(s.db, s.contacts), sessionsStore, signIn, s.clock, cookie, handlers.AdminConfig{
		Region:        s.cfg.AdminRegion,
		DemoCodeOn:    s.cfg.DemoCode != "",
		Console:       s.cfg.OTPChannel == "console",
		PushProviders: s.cfg.Push.Providers,
		Channel:       s.cfg.OTPChannel,
		CodeTTL:       s.cfg.OTP.TTL,
		MaxAttempts:   s.cfg.OTP.MaxAttempts,
		CodesKept:     s.cfg.Retention,
		PhotoURL:      s.cfg.BaseURL + "/files/",
		Settings:      settingsOf(s.cfg, getenv),

		Fraud:        models.NewFraud(s.db, s.clock, s.fraudPolicy()),
		MesiboStatus: s.mesiboStatus, // the degraded-mesibo banner
		Health:       s.health,

		// Every channel a code or a job may have gone through, configured
		// now or not: the lists keep older messages.
		Channels:      []string{ChannelConsole, ChannelTwilio, ChannelWebhook, ChannelSMTP, ChannelWhatsApp, ChannelVoice, models.MesiboChannel, models.PushFCM, models.PushAPNs},
		Accounts:      s.accounts,
		OwnerPassword: &firstPasswordFile{path: filepath.Join(s.cfg.DataDir, ownerPasswordFile), log: s.log},
	})
	s.admins = admins
	return nil
}

// ownerPasswordFile is where the generated first password is written.
const ownerPasswordFile = "owner-password.txt"

// writeOwnerPassword writes the generated first password to a new file of
// mode 0600 in the data directory and returns its path.
func writeOwnerPassword(dataDir, password string) (string, error) {
	path := filepath.Join(dataDir, ownerPasswordFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", err
	}
	if err := f.Chmod(0o600); err != nil { // an older file may have had another mode
		f.Close()
		return "", err
	}
	if _, err := f.WriteString(password + "\n"); err != nil {
		f.Close()
		return "", err
	}
	return path, f.Close()
}

// adminRoutes mounts the dashboard under /admin (with the security headers
// of every HTML page), one line a page action, grouped by page. The paths
// are views' route patterns, the ones its links are built from. CSRF checks
// live in RequireAdmin and the sign-in form: they never touch the mobile API.
func (s *Server) adminRoutes(html fiber.Router) {
	h := s.admin
	html.Get(views.AdminURL(views.PathLogin), h.LoginForm)
	html.Post(views.AdminURL(views.PathLogin), h.Login)
	html.Get(views.AdminURL(views.PathLoginCode), h.SecondFactorForm)
	html.Post(views.AdminURL(views.PathLoginCode), h.SecondFactorLogin)
	// RequireAdmin first: a signed-out visitor is sent to the sign-in form,
	// whatever the address. Then every error is answered in the dashboard.
	g := html.Group(views.AdminRoot, h.RequireAdmin(), s.adminErrors, s.dashboardWhileDatabaseLost)
	g.Post(views.PathLogout, h.Logout)

	g.Get(views.PathOverview, h.Overview) // also answers /admin (routing is not strict)

	g.Get(views.PathUsers, h.Users)
	g.Get(views.PathUsersCSV, h.UsersCSV)
	g.Post(views.PathUsers, h.CreateUser)
	g.Post(views.PathUsersBulk, h.BulkUsers)

	g.Get(views.PathUser, h.User)
	g.Post(views.PathUserRevokeSession, h.RevokeSession)
	g.Post(views.PathUserRevokeAll, h.RevokeAll)
	g.Post(views.PathUserBlock, h.Block)
	g.Post(views.PathUserUnblock, h.Unblock)
	g.Post(views.PathUserDelete, h.Delete)
	g.Post(views.PathUserCancelDeletion, h.CancelDeletion)
	g.Post(views.PathUserResend, h.ResendUser)
	g.Post(views.PathUserModerate, h.Moderate)
	g.Post(views.PathUserUnlock, h.UnlockUser)
	g.Post(views.PathUserProfile, h.EditProfile)
	g.Get(views.PathUserMatched, h.UserContacts(models.LinksMatched))
	g.Get(views.PathUserHave, h.UserContacts(models.LinksHaveThisUser))

	g.Get(views.PathGroups, h.Groups)
	g.Get(views.PathGroup, h.Group)
	g.Post(views.PathGroups, h.CreateGroup)
	g.Post(views.PathGroupDelete, h.DeleteGroup)
	g.Post(views.PathGroupRename, h.RenameGroup)
	g.Post(views.PathGroupMembers, h.GroupMembers)
	g.Post(views.PathGroupRole, h.GroupRole)

	g.Get(views.PathCodes, h.Codes)
	g.Post(views.PathCodesResend, h.ResendCode)
	g.Post(views.PathCodesUnlock, h.UnlockNumber)

	g.Get(views.PathOutbox, h.Outbox)
	g.Get(views.PathOutboxMessage, h.OutboxMessage)
	g.Get(views.PathPushes, h.Pushes)

	g.Get(views.PathFraud, h.Fraud)
	g.Post(views.PathFraudRelease, h.ReleaseCountry)
	g.Post(views.PathFraudSending, h.SetSending)

	g.Get(views.PathAudit, h.Audit)
	g.Get(views.PathAuditCSV, h.AuditCSV)

	g.Get(views.PathSettings, h.Settings)

	g.Get(views.PathAdmins, h.OwnerOnly, h.Admins)
	g.Post(views.PathAdmins, h.OwnerOnly, h.CreateAdmin)
	g.Get(views.PathAdmin, h.OwnerOnly, h.AdminDetail)
	g.Post(views.PathAdminRole, h.OwnerOnly, h.SetAdminRole)
	g.Post(views.PathAdminDisable, h.OwnerOnly, h.DisableAdmin)
	g.Post(views.PathAdminEnable, h.OwnerOnly, h.EnableAdmin)
	g.Post(views.PathAdminReset, h.OwnerOnly, h.ResetAdminPassword)
	g.Post(views.PathAdminEndSession, h.OwnerOnly, h.EndAdminSession)
	g.Post(views.PathAdmins2FA, h.OwnerOnly, h.SetSecondFactorPolicy)
	g.Post(views.PathAdmin2FARemove, h.OwnerOnly, h.RemoveAdminSecondFactor)

	g.Get(views.PathAccount, h.Account)
	g.Post(views.PathAccountPassword, h.ChangePassword)
	g.Post(views.PathAccount2FASetup, h.StartEnrolment)
	g.Post(views.PathAccount2FAConfirm, h.ConfirmEnrolment)
	g.Post(views.PathAccount2FADisable, h.DisableSecondFactor)

	// Any other address under /admin/ is a dashboard page that does not
	// exist: a 404 in the dashboard's frame, not the public site's.
	g.Use(func(c *fiber.Ctx) error { return fiber.ErrNotFound })
}

// adminErrors is the /admin group's one error path: an error that a
// dashboard handler returns is answered as a message inside the dashboard's
// frame, so the page keeps its navigation and an htmx swap keeps #content
// for the next action. Internal errors are logged with the request id;
// their text is never shown. (The app's handleError stays the last resort,
// for errors before the group and for a failure to render this answer.)
func (s *Server) adminErrors(c *fiber.Ctx) error {
	err := c.Next()
	if err == nil {
		return nil
	}
	internal, renderErr := s.admin.RenderError(c, err, RequestID(c))
	if internal {
		s.log.Error("request failed", "request_id", RequestID(c), "path", c.Path(), "err", err)
	}
	return renderErr
}

// Admins is the admin account store (tests create admins through it).
func (s *Server) Admins() *models.Admins { return s.admins }

var _ handlers.AdminCookie = (*adminCookie)(nil)
