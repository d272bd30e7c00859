package handlers

import (
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"roster/models"
)

// ClientConfig is the configuration the protocol sends to apps with every
// successful authenticated reply and with the login reply.
type ClientConfig struct {
	UploadURL    string
	DownloadURL  string
	ShareText    string
	ShareSubject string
	ShareTitle   string
	InviteText   string
	// ExportURL is where exportaccount's links point (ServeExport).
	ExportURL string
}

// Reply is an op's own fields; the envelope adds op, ts and result.
type Reply map[string]any

type opFunc func(c *fiber.Ctx, r *Request) (Reply, error)

// Services are the models behind the protocol's ops.
type Services struct {
	SignIn   *models.SignIn
	Sessions *models.Sessions
	Contacts *models.Contacts
	Profiles *models.Profiles
	Photos   *models.Photos
	Events   *models.Events
	Uploads  *models.Uploads
	Groups   *models.Groups
	Accounts *models.Accounts
	Clock    models.Clock
	// FilesRedirect, when positive, answers /files/NAME with a redirect to
	// a URL of the object store valid this long, instead of the file.
	FilesRedirect time.Duration
	// Country tells the country of a request's client, if known ("": not
	// known), for the session a sign-in makes; nil: never known.
	Country func(c *fiber.Ctx) string
}

// API serves the demo-app protocol: one endpoint, the op in a parameter,
// and the two routes beside it (the event stream and stored files).
type API struct {
	signIn   *models.SignIn
	sessions *models.Sessions
	contacts *models.Contacts
	profiles *models.Profiles
	photos   *models.Photos
	events   *models.Events
	uploads  *models.Uploads
	groups   *models.Groups
	accounts *models.Accounts
	clock    models.Clock
	client   ClientConfig
	ops      map[string]opFunc
	// listBufs recycles the buffers of contact lists (reply_buffers.go).
	listBufs replyBuffers
	redirect time.Duration // Services.FilesRedirect
	country  func(c *fiber.Ctx) string
}

// NewAPI returns the protocol handler.
func NewAPI(svc Services, client ClientConfig) *API {
	a := &API{signIn: svc.SignIn, sessions: svc.Sessions, contacts: svc.Contacts, profiles: svc.Profiles,
		photos: svc.Photos, events: svc.Events, uploads: svc.Uploads, groups: svc.Groups, accounts: svc.Accounts, clock: svc.Clock, client: client,
		redirect: svc.FilesRedirect, country: svc.Country}
	a.ops = a.opTable()
	return a
}

// opTable is every op the protocol serves, with the file that implements
// it: the one place to look for what a request's `op` runs.
func (a *API) opTable() map[string]opFunc {
	return map[string]opFunc{
		"login":       a.login,                 // login.go
		"logout":      a.logout,                // login.go
		"setnotify":   a.authed(a.setNotify),   // setnotify.go
		"getcontacts": a.authed(a.getContacts), // contacts.go
		"delcontacts": a.authed(a.delContacts), // contacts.go
		"profile":     a.authed(a.profile),     // profile.go
		"upload":      a.authed(a.upload),      // profile.go
		"setgroup":    a.authed(a.setGroup),    // groups.go
		"getgroup":    a.authed(a.getGroup),    // groups.go
		"editmembers": a.authed(a.editMembers), // groups.go
		"setadmin":    a.authed(a.setAdmin),    // groups.go
		"delgroup":    a.authed(a.delGroup),    // groups.go
		"sessions":    a.authed(a.ownSessions), // own_sessions.go
		"endsession":  a.authed(a.endSession),  // own_sessions.go

		"deleteaccount": a.authed(a.deleteAccount), // account_delete.go
		"exportaccount": a.authed(a.exportAccount), // account_export.go
		"changephone":   a.authed(a.changePhone),   // changephone.go
	}
}

// HasOp reports whether op is served.
func (a *API) HasOp(op string) bool {
	_, ok := a.ops[op]
	return ok
}

// Locals keys shared with the error handler.
const (
	localOp        = "roster.op"
	localPrincipal = "roster.principal"
	localErrorCode = "roster.error_code"
)

// ErrorCodeOf returns the protocol error code sent for this request, or ""
// if the reply was OK (for the access log and metrics).
func ErrorCodeOf(c *fiber.Ctx) string {
	code, _ := c.Locals(localErrorCode).(string)
	return code
}

// OpOf returns the op of the request being served, for the error handler.
func OpOf(c *fiber.Ctx) string {
	op, _ := c.Locals(localOp).(string)
	return op
}

// Handle is the protocol endpoint: it decodes the request, runs the op and
// writes the envelope. Failures are returned to the app's error handler,
// which writes them with WriteError.
func (a *API) Handle(c *fiber.Ctx) error {
	setProtocolHeaders(c)
	if c.Method() == fiber.MethodOptions {
		return c.SendStatus(fiber.StatusNoContent)
	}
	req, err := DecodeRequest(c)
	if req != nil {
		c.Locals(localOp, req.Op)
	}
	if err != nil {
		return err
	}
	if req.Op == "" {
		return apiErr(CodeNoOp, "The request names no op.")
	}
	op, ok := a.ops[req.Op]
	if !ok {
		return apiErr(CodeBadOp, "Unknown op \""+truncateRunes(req.Op, 32)+"\".")
	}
	reply, err := op(c, req)
	if err != nil {
		return err
	}
	return a.writeOK(c, req.Op, reply)
}

// authed wraps an op that needs a signed-in caller.
func (a *API) authed(h func(c *fiber.Ctx, r *Request, p *models.Principal) (Reply, error)) opFunc {
	return func(c *fiber.Ctx, r *Request) (Reply, error) {
		p, err := a.sessions.Authenticate(c.UserContext(), tokenOf(c, r))
		if err != nil {
			return nil, err
		}
		c.Locals(localPrincipal, p)
		return h(c, r, p)
	}
}

// RequireToken is the authentication middleware for routes outside the op
// endpoint (such as event streams): the token comes as a Bearer header or a
// `token` query parameter.
func (a *API) RequireToken() fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := a.sessions.Authenticate(c.UserContext(), tokenOf(c, nil))
		if errors.Is(err, models.ErrUnauthenticated) {
			// A 401: routes that answer with plain statuses (event streams)
			// pass it on; on protocol paths it becomes AUTHFAIL.
			return fiber.NewError(fiber.StatusUnauthorized, "invalid or missing token")
		}
		if err != nil {
			return err
		}
		c.Locals(localPrincipal, p)
		return c.Next()
	}
}

// PrincipalOf returns the caller authenticated by RequireToken or an authed op.
func PrincipalOf(c *fiber.Ctx) *models.Principal {
	p, _ := c.Locals(localPrincipal).(*models.Principal)
	return p
}

func tokenOf(c *fiber.Ctx, r *Request) string {
	if h := c.Get(fiber.HeaderAuthorization); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	if r != nil {
		return r.Get("token")
	}
	return c.Query("token")
}

// clientInfo is who sent the request, in the client's own words. Those are
// stored (sessions, audit log), and PostgreSQL refuses text that is not
// UTF-8: a byte that is not becomes U+FFFD.
func clientInfo(c *fiber.Ctx, r *Request) models.ClientInfo {
	return models.ClientInfo{
		IP:         c.IP(),
		UserAgent:  c.Get(fiber.HeaderUserAgent),
		AppID:      r.Get("appid"),
		Device:     r.Get("device"),
		DeviceType: r.Get("dt"),
	}.Clean()
}
