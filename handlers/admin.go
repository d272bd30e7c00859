package handlers

// The administrators' dashboard, one file a page in the style of Miniflux's
// internal/ui: admin_<page>.go holds the page's handler and its filter,
// admin_user_actions.go the actions on one user, admin_errors.go the error
// path of the /admin group, admin_auth.go the sign-in and the guard. The
// same stems name the page's queries (models/dashboard_<page>.go; the
// admins page's are models/admin_admins.go), its templates
// (views/admin_<page>.templ) and its tests (admin_<page>_test.go).

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"roster/models"
	"roster/views"
)

// AdminConfig is what the dashboard shows about the server's configuration.
type AdminConfig struct {
	Region      string // region of national-format numbers typed into searches
	DemoCodeOn  bool
	Console     bool   // the console channel is used: the outbox page is on
	Channel     string // the OTP delivery channel
	CodeTTL     time.Duration
	MaxAttempts int
	PhotoURL    string // prefix of profile photo URLs
	Settings    []views.SettingGroupVM
	// PushProviders are the providers of --push (none: push is off).
	PushProviders []string
	// MesiboStatus is the degraded-mesibo banner's text ("" = none); nil
	// without mesibo mode.
	MesiboStatus func() string
	// Health is this instance's readiness with its reasons, for the
	// overview; nil: not shown.
	Health func(ctx context.Context) views.HealthVM
	// CodesKept is the retention of codes: older ones are pruned.
	CodesKept time.Duration
	// Channels are the delivery channels the codes and outbox pages filter
	// by: every channel a message may have been sent through.
	Channels []string
	// Fraud is the fraud guard's figures and actions (the fraud page, the
	// overview's banner).
	Fraud *models.Fraud
	// Accounts cancels the deletions users asked for in their grace period.
	Accounts *models.Accounts
	// OwnerPassword is the first start's password file; nil: none kept.
	OwnerPassword OwnerPasswordFile
}

// Admin serves the administrators' dashboard.
type Admin struct {
	admins   *models.Admins
	dash     *models.Dashboard
	actions  *models.UserActions
	groups   *models.Groups
	sync     *models.ContactSyncReader
	sessions *models.Sessions
	signIn   *models.SignIn
	clock    models.Clock
	cookie   AdminCookie
	cfg      AdminConfig
}

// NewAdmin returns the dashboard handlers.
func NewAdmin(admins *models.Admins, dash *models.Dashboard, actions *models.UserActions, groups *models.Groups, sync *models.ContactSyncReader,
	sessions *models.Sessions, signIn *models.SignIn, clock models.Clock, cookie AdminCookie, cfg AdminConfig) *Admin {
	return &Admin{admins: admins, dash: dash, actions: actions, groups: groups, sync: sync, sessions: sessions, signIn: signIn,
		clock: clock, cookie: cookie, cfg: cfg}
}

func (h *Admin) meta(c *fiber.Ctx, section, title string) views.AdminMeta {
	m := views.AdminMeta{Title: title, Section: section, DemoCodeOn: h.cfg.DemoCodeOn, ShowOutbox: h.cfg.Console, Now: h.clock.Now()}
	if h.cfg.MesiboStatus != nil {
		m.MesiboDegraded = h.cfg.MesiboStatus()
	}
	if h.cfg.OwnerPassword != nil {
		m.OwnerPasswordLeft = h.cfg.OwnerPassword.Left()
	}
	if a := adminOf(c); a != nil {
		m.AdminName, m.AdminRole, m.CanWrite, m.SecondFactor = a.Name, a.Role, a.CanWrite(), a.HasSecondFactor()
	}
	if s := adminSessionOf(c); s != nil {
		m.CSRF = s.CSRFToken
	}
	m.Notice, _ = c.Locals(localNotice).(*views.Notice)
	return m
}

const localNotice = "roster.notice"

func ok(text string) *views.Notice   { return &views.Notice{OK: true, Text: text} }
func fail(text string) *views.Notice { return &views.Notice{Text: text} }

// userID is the :id of a user route; anything but a positive number is a
// page that does not exist.
func userID(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fiber.ErrNotFound
	}
	return id, nil
}

// codeVMs are code rows for the code tables of the codes and user pages.
func codeVMs(rows []models.CodeRow, users map[string]int64) []views.CodeVM {
	out := make([]views.CodeVM, len(rows))
	for i, r := range rows {
		out[i] = views.CodeVM{ID: r.ID, UserID: users[r.Phone], Phone: r.Phone, State: r.Effective, Attempts: r.Attempts,
			Channel: r.Channel, Delivery: r.Delivery, OutboxID: r.OutboxID, Network: r.Network, Created: r.CreatedAt}
	}
	return out
}

// auditVMs are audit entries for the audit tables of the audit, codes and
// user pages.
// auditDetail is an entry's detail, with the count of the repeats it
// stands for (from the same network within the hour; the phone, name and
// detail are the first one's).
func auditDetail(e models.AuditEntry) string {
	if e.Repeats == nil || *e.Repeats == 0 || e.LastAt == nil {
		return e.Detail
	}
	return fmt.Sprintf("%s (and %d more like it from this network until %s UTC)", e.Detail, *e.Repeats,
		time.UnixMilli(*e.LastAt).UTC().Format("2006-01-02 15:04:05"))
}

func auditVMs(es []models.AuditEntry) []views.AuditVM {
	out := make([]views.AuditVM, len(es))
	for i, e := range es {
		out[i] = views.AuditVM{ID: e.ID, At: e.At, Actor: e.Actor, Type: e.Type, Phone: e.Phone, IP: e.IP,
			UserAgent: e.UserAgent, Detail: auditDetail(e)}
		if e.UserID != nil {
			out[i].UserID = *e.UserID
		}
	}
	return out
}
