package handlers

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"roster/models"
	"roster/views"
)

// AdminCookie keeps the dashboard's session cookie (implemented in web with
// gorilla/sessions). It holds the server-side session id, or before sign-in
// the sign-in form's CSRF token.
type AdminCookie interface {
	// Load returns the session id, the login-form token and the flash (the
	// notice of an action, shown once after its redirect), "" when absent
	// or not valid.
	Load(c *fiber.Ctx) (sessionID, loginToken, flash string)
	// Save writes a fresh cookie with these values.
	Save(c *fiber.Ctx, sessionID, loginToken, flash string) error
	// Clear removes the cookie.
	Clear(c *fiber.Ctx) error
	// KnownAdmin is the admin this browser signed in as before (a cookie
	// of its own, kept after sign-out), 0 when none.
	KnownAdmin(c *fiber.Ctx) int64
	// RememberAdmin marks this browser as having signed in as the admin.
	RememberAdmin(c *fiber.Ctx, adminID int64) error
}

const (
	localAdmin        = "roster.admin"
	localAdminSession = "roster.admin_session"
	csrfHeader        = "X-CSRF-Token"
	csrfField         = "_csrf"
)

func isHTMX(c *fiber.Ctx) bool { return c.Get("HX-Request") == "true" }

// RequireAdmin lets signed-in admins through. A signed-out visitor is sent
// to the sign-in form (htmx requests get an HX-Redirect header, since a 302
// would be followed and swapped into the page). On every state-changing
// request it checks the CSRF token, and refuses viewers.
func (h *Admin) RequireAdmin() fiber.Handler {
	return func(c *fiber.Ctx) error {
		sid, _, flash := h.cookie.Load(c)
		sess, admin, err := h.admins.Session(c.UserContext(), sid)
		if errors.Is(err, models.ErrAdminSessionEnded) {
			login := loginURL(c, sid != "")
			if isHTMX(c) {
				c.Set("HX-Redirect", login)
				return c.SendStatus(fiber.StatusUnauthorized)
			}
			return c.Redirect(login, fiber.StatusSeeOther)
		}
		if err != nil {
			return err
		}
		c.Locals(localAdmin, admin)
		c.Locals(localAdminSession, sess)
		if flash != "" { // shown once
			c.Locals(localNotice, ok(flash))
			if err := h.cookie.Save(c, sid, "", ""); err != nil {
				return err
			}
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
			token := c.Get(csrfHeader)
			if token == "" {
				token = bodyFormValue(c, csrfField)
			}
			if !sess.CSRFValid(token) {
				return h.refuse(c, fiber.StatusForbidden, "The form has expired or did not come from this dashboard (CSRF check failed). Reload the page and try again.")
			}
			// A viewer changes nothing but signs out and changes their own
			// password and second factor.
			if !admin.CanWrite() && c.Path() != views.AdminURL(views.PathLogout) && c.Path() != views.AdminURL(views.PathAccountPassword) &&
				!strings.HasPrefix(c.Path(), views.AdminURL(views.PathAccount)+"/2fa/") {
				return h.refuse(c, fiber.StatusForbidden, "Your role is viewer: you can read the dashboard but not change anything.")
			}
		}
		if sent, err := h.enrolFirst(c, admin); sent || err != nil {
			return err
		}
		return c.Next()
	}
}

// loginURL is where a request without a live session is sent: the sign-in
// form, with the page to come back to (next) and, when the cookie held a
// session that ended, the reason (expired=1). An htmx click (a POST, or a
// GET of a fragment) comes back to the page it was made on, which htmx
// names in HX-Current-URL; a plain GET to the page asked for.
func loginURL(c *fiber.Ctx, hadSession bool) string {
	q := url.Values{}
	next := ""
	switch {
	case isHTMX(c):
		if u, err := url.Parse(c.Get("HX-Current-URL")); err == nil {
			next = u.RequestURI()
		}
	case c.Method() == fiber.MethodGet:
		next = string(c.Request().URI().RequestURI())
	}
	if next = safeNext(next); next != "" && next != views.AdminURL(views.PathOverview) {
		q.Set("next", next)
	}
	if hadSession {
		q.Set("expired", "1")
	}
	return views.ListURL(views.PathLogin, q)
}

// done answers a successful action. htmx gets the page with the notice in
// place; a plain form post (no JavaScript) is redirected to the page, with
// the notice as a flash, so that reloading does not repeat the action.
func (h *Admin) done(c *fiber.Ctx, page string, notice *views.Notice, render func() error) error {
	if isHTMX(c) {
		return render()
	}
	sid, _, _ := h.cookie.Load(c)
	if err := h.cookie.Save(c, sid, "", notice.Text); err != nil {
		return err
	}
	return c.Redirect(page, fiber.StatusSeeOther)
}

func (h *Admin) refuse(c *fiber.Ctx, status int, msg string) error {
	// The notice alone says it (an alert, read out after an htmx swap).
	meta := h.meta(c, "", "Not allowed")
	meta.Notice = &views.Notice{Text: msg}
	return Render(c, status, views.AdminMessage(meta, "Not allowed", ""))
}

func adminOf(c *fiber.Ctx) *models.Admin {
	a, _ := c.Locals(localAdmin).(*models.Admin)
	return a
}

func adminSessionOf(c *fiber.Ctx) *models.AdminSession {
	s, _ := c.Locals(localAdminSession).(*models.AdminSession)
	return s
}

func adminClient(c *fiber.Ctx) models.ClientInfo {
	return models.ClientInfo{IP: c.IP(), UserAgent: c.Get(fiber.HeaderUserAgent), AppID: "roster-admin"}.Clean()
}

// LoginForm shows the sign-in form with a fresh login CSRF token.
func (h *Admin) LoginForm(c *fiber.Ctx) error {
	sid, _, _ := h.cookie.Load(c)
	if _, _, err := h.admins.Session(c.UserContext(), sid); err == nil {
		return c.Redirect(views.AdminURL(views.PathOverview), fiber.StatusSeeOther)
	}
	return h.renderLogin(c, fiber.StatusOK, "", "", safeNext(c.Query("next")))
}

// expiredNote is the sign-in form's word on why it is shown: an expired
// session (see loginURL) or one ended by wrong passwords (refuseRecheck).
func expiredNote(c *fiber.Ctx) string {
	switch {
	case c.Query("expired") == "1":
		return "Your session expired: sign in again to go back to the page you were on."
	case c.Query("ended") == "recheck":
		// The page does not know who was signed out, so it cannot tell
		// whether passwords or authenticator codes were typed.
		return fmt.Sprintf("You were signed out: an action asked for your password again and it was wrong %d times (an authenticator code given in its place counts the same). Nothing was changed; sign in to go on.", models.MaxRechecks)
	}
	return ""
}

func (h *Admin) renderLogin(c *fiber.Ctx, status int, name, msg, next string) error {
	token := h.admins.NewLoginForm()
	if err := h.cookie.Save(c, "", token, ""); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return Render(c, status, views.AdminLogin(views.LoginVM{Name: name, Error: msg, Info: expiredNote(c), Token: token, Next: next}))
}

// Login checks the name and password and starts a session with a new id.
func (h *Admin) Login(c *fiber.Ctx) error {
	_, want, _ := h.cookie.Load(c)
	next := safeNext(c.FormValue("next"))
	name := strings.TrimSpace(c.FormValue("name")) // made storable by the model (a failed attempt stores it)
	if want == "" || !constantEqual(bodyFormValue(c, csrfField), want) {
		return h.renderLogin(c, fiber.StatusForbidden, name, "The sign-in form has expired. Please try again.", next)
	}
	admin, raw, sess, err := h.admins.Login(c.UserContext(), want, name, c.FormValue("password"), adminClient(c), h.cookie.KnownAdmin(c))
	var throttled *models.ThrottledError
	switch {
	case errors.Is(err, models.ErrLoginFormUsed):
		return h.renderLogin(c, fiber.StatusForbidden, name, "The sign-in form has expired. Please try again.", next)
	case errors.Is(err, models.ErrBadCredentials):
		return h.renderLogin(c, fiber.StatusUnauthorized, name, "The name or the password is wrong.", next)
	case errors.As(err, &throttled):
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int((throttled.Wait+time.Second-1)/time.Second)))
		return h.renderLogin(c, fiber.StatusTooManyRequests, name, throttled.Message(), next)
	case err != nil:
		return err
	}
	if err := h.cookie.Save(c, raw, "", ""); err != nil {
		return err
	}
	if sess.SecondFactorDue != nil {
		return c.Redirect(secondFactorStep(next), fiber.StatusSeeOther)
	}
	if err := h.cookie.RememberAdmin(c, admin.ID); err != nil {
		return err
	}
	if next == "" {
		next = views.AdminURL(views.PathOverview)
	}
	return c.Redirect(next, fiber.StatusSeeOther)
}

// Logout ends the session.
func (h *Admin) Logout(c *fiber.Ctx) error {
	if err := h.admins.Logout(c.UserContext(), adminSessionOf(c), adminOf(c), adminClient(c)); err != nil {
		return err
	}
	if err := h.cookie.Clear(c); err != nil {
		return err
	}
	if isHTMX(c) {
		c.Set("HX-Redirect", views.AdminURL(views.PathLogin))
		return c.SendStatus(fiber.StatusNoContent)
	}
	return c.Redirect(views.AdminURL(views.PathLogin), fiber.StatusSeeOther)
}

// safeNext keeps only local dashboard paths, so the sign-in form cannot be
// used to send an admin elsewhere.
func safeNext(next string) string {
	if !strings.HasPrefix(next, views.AdminRoot+"/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") ||
		strings.HasPrefix(next, views.AdminURL(views.PathLogin)) || strings.HasPrefix(next, views.AdminURL(views.PathLogout)) {
		return ""
	}
	return next
}

func constantEqual(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// bodyFormValue is a field of the request's form body (URL-encoded or
// multipart), never of its query string as Fiber's FormValue would also
// take: a CSRF token in a URL leaks through logs, history and Referer.
func bodyFormValue(c *fiber.Ctx, key string) string {
	if v := c.Request().PostArgs().Peek(key); len(v) > 0 {
		return string(v)
	}
	if !strings.HasPrefix(strings.ToLower(c.Get(fiber.HeaderContentType)), fiber.MIMEMultipartForm) {
		return ""
	}
	if form, err := c.MultipartForm(); err == nil && len(form.Value[key]) > 0 {
		return form.Value[key][0]
	}
	return ""
}
