package handlers

import (
	"errors"
	"sort"
	"strings"

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
}

// Reply is an op's own fields; the envelope adds op, ts and result.
type Reply map[string]any

type opFunc func(c *fiber.Ctx, r *Request) (Reply, error)

// API serves the demo-app protocol: one endpoint, the op in a parameter.
type API struct {
	signIn   *models.SignIn
	sessions *models.Sessions
	clock    models.Clock
	client   ClientConfig
	ops      map[string]opFunc
}

// NewAPI returns the protocol handler.
func NewAPI(signIn *models.SignIn, sessions *models.Sessions, clock models.Clock, client ClientConfig) *API {
	a := &API{signIn: signIn, sessions: sessions, clock: clock, client: client}
	a.ops = map[string]opFunc{
		"login":     a.login,
		"logout":    a.logout,
		"setnotify": a.authed(a.setNotify),
	}
	return a
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

// DecodeRequest reads the parameters of a protocol request from its query
// string and body (JSON, URL-encoded form, or multipart form). Body values
// win over query values.
func DecodeRequest(c *fiber.Ctx) (*Request, error) {
	req := &Request{Params: map[string]string{}}
	if err := DecodeQuery(c.Request().URI().QueryString(), req.Params); err != nil {
		return req, err
	}
	req.Op = parseOp(req.Params["op"])
	body := c.Body()
	ct := strings.ToLower(c.Get(fiber.HeaderContentType))
	switch {
	case c.Method() != fiber.MethodPost:
	case strings.HasPrefix(ct, fiber.MIMEMultipartForm):
		form, err := c.MultipartForm()
		if err != nil {
			return req, badRequest("The multipart form could not be read.")
		}
		for k, vs := range form.Value {
			if len(vs) > 0 {
				if err := setParam(req.Params, k, vs[len(vs)-1]); err != nil {
					return req, err
				}
			}
		}
		names := make([]string, 0, len(form.File))
		for k := range form.File {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			req.Files = append(req.Files, form.File[k]...)
		}
	case strings.HasPrefix(ct, fiber.MIMEApplicationJSON) || LooksLikeJSON(body):
		if err := DecodeJSONParams(body, req.Params); err != nil {
			return req, err
		}
	case len(body) > 0:
		if err := DecodeQuery(body, req.Params); err != nil {
			return req, err
		}
	}
	req.Op = parseOp(req.Params["op"])
	return req, nil
}

func setProtocolHeaders(c *fiber.Ctx) {
	c.Set(fiber.HeaderCacheControl, "no-cache, no-store")
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	c.Set(fiber.HeaderAccessControlAllowMethods, "GET, POST, OPTIONS")
	c.Set(fiber.HeaderAccessControlAllowHeaders, "Content-Type, Authorization")
	c.Set(fiber.HeaderAccessControlMaxAge, "86400")
}

func (a *API) envelope(op, result string) fiber.Map {
	return fiber.Map{"op": op, "ts": a.clock.Now().Unix(), "result": result}
}

func (a *API) writeOK(c *fiber.Ctx, op string, reply Reply) error {
	env := a.envelope(op, "OK")
	if _, authed := c.Locals(localPrincipal).(*models.Principal); authed {
		a.addClientConfig(env)
	}
	for k, v := range reply {
		env[k] = v
	}
	return c.Status(fiber.StatusOK).JSON(env)
}

// WriteError writes a failure envelope: always HTTP 200, as the clients expect.
func (a *API) WriteError(c *fiber.Ctx, e *APIError) error {
	setProtocolHeaders(c)
	op := OpOf(c)
	env := a.envelope(op, "FAIL")
	env["error"] = e.Code
	c.Locals(localErrorCode, e.Code)
	if e.Code == CodeNoOp {
		env["code"] = CodeNoOp
	}
	if e.Msg != "" {
		env["errmsg"] = e.Msg
	}
	if e.RetryAfter > 0 {
		secs := retryAfterSeconds(e.RetryAfter)
		env["retry_after"] = secs
		c.Set(fiber.HeaderRetryAfter, itoa(secs))
	}
	return c.Status(fiber.StatusOK).JSON(env)
}

func (a *API) addClientConfig(env fiber.Map) {
	env["urls"] = fiber.Map{"upload": a.client.UploadURL, "download": a.client.DownloadURL}
	env["uploadurl"] = a.client.UploadURL
	env["downloadurl"] = a.client.DownloadURL
	env["fileurl"] = a.client.DownloadURL
	env["share"] = fiber.Map{"text": a.client.ShareText, "subject": a.client.ShareSubject, "title": a.client.ShareTitle}
	env["invite"] = a.client.InviteText
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

func clientInfo(c *fiber.Ctx, r *Request) models.ClientInfo {
	return models.ClientInfo{
		IP:         c.IP(),
		UserAgent:  c.Get(fiber.HeaderUserAgent),
		AppID:      r.Get("appid"),
		Device:     r.Get("device"),
		DeviceType: r.Get("dt"),
	}
}
