package handlers

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"roster/models"
	"roster/views"
)

// The actions on one user, each a POST from the user's page that answers
// with the page and a notice (see done in admin_auth.go).

// recheck asks for the admin's password again before a destructive action.
// After models.MaxRechecks wrong ones the session ends (ErrAdminSessionEnded:
// see refuseRecheck).
func (h *Admin) recheck(c *fiber.Ctx) error {
	return h.admins.CheckPassword(c.UserContext(), adminOf(c), adminSessionOf(c), c.FormValue("password"), adminClient(c))
}

// refuseRecheck answers a failed re-check: the page with a notice, or, when
// that failure ended the session, the way to the sign-in form. Any other
// error is the request's.
func (h *Admin) refuseRecheck(c *fiber.Ctx, err error, page func() error) error {
	switch {
	case errors.Is(err, models.ErrAdminSessionEnded):
		if cerr := h.cookie.Clear(c); cerr != nil {
			return cerr
		}
		login := views.AdminURL(views.PathLogin) + "?ended=recheck" // the sign-in form says why
		if isHTMX(c) {
			c.Set("HX-Redirect", login)
			return c.SendStatus(fiber.StatusUnauthorized)
		}
		return c.Redirect(login, fiber.StatusSeeOther)
	case errors.Is(err, models.ErrBadCredentials):
		return page()
	}
	return err
}

// wrongRecheck is the refusal of a wrong answer to recheck. An admin with
// two-factor sign-in may have typed a code instead of the password, so
// their refusal names both.
func wrongRecheck(c *fiber.Ctx) string {
	if a := adminOf(c); a != nil && a.HasSecondFactor() {
		return "Your password or authenticator code was wrong: nothing was changed."
	}
	return "Your password was wrong: nothing was changed."
}

// RevokeSession is POST /admin/users/:id/sessions/:sid/revoke.
func (h *Admin) RevokeSession(c *fiber.Ctx) error {
	uid, err := userID(c)
	if err != nil {
		return err
	}
	sid, err := strconv.ParseInt(c.Params("sid"), 10, 64)
	if err != nil {
		return fiber.ErrNotFound
	}
	owned, err := h.dash.SessionBelongs(c.UserContext(), uid, sid)
	if err != nil {
		return err
	}
	if !owned {
		return h.renderUser(c, fiber.StatusNotFound, fail("This session does not belong to this user."))
	}
	revoked, err := h.sessions.RevokeSession(c.UserContext(), sid, adminOf(c).Actor(), adminClient(c))
	if err != nil {
		return err
	}
	if !revoked {
		return h.renderUser(c, fiber.StatusConflict, fail("This session was already ended."))
	}
	n := ok("Session revoked: that device must sign in again.")
	return h.done(c, views.UserURL(uid), n, func() error { return h.renderUser(c, fiber.StatusOK, n) })
}

// RevokeAll is POST /admin/users/:id/revoke-all (password re-check).
func (h *Admin) RevokeAll(c *fiber.Ctx) error {
	uid, err := userID(c)
	if err != nil {
		return err
	}
	if err := h.recheck(c); err != nil {
		return h.refuseRecheck(c, err, func() error { return h.renderUser(c, fiber.StatusForbidden, fail(wrongRecheck(c))) })
	}
	n, err := h.sessions.RevokeAllForUser(c.UserContext(), uid, adminOf(c).Actor(), adminClient(c))
	if errors.Is(err, models.ErrNotFound) {
		return h.renderUser(c, fiber.StatusNotFound, nil)
	}
	if err != nil {
		return err
	}
	done := ok(views.Plural(n, "session", "sessions") + " revoked: the user is signed out everywhere.")
	return h.done(c, views.UserURL(uid), done, func() error { return h.renderUser(c, fiber.StatusOK, done) })
}

// blockUntil reads a block form's "until": empty blocks until unblocked, a
// date YYYY-MM-DD until its end (UTC), which must be in the future. A
// refusal is the text to show instead.
func (h *Admin) blockUntil(c *fiber.Ctx) (until int64, refusal string) {
	s := strings.TrimSpace(c.FormValue("until"))
	if s == "" {
		return models.BlockedForever, ""
	}
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		return 0, "The date must be written YYYY-MM-DD."
	}
	if until = d.AddDate(0, 0, 1).UnixMilli(); until <= h.clock.Now().UnixMilli() {
		return 0, "The block must end in the future."
	}
	return until, ""
}

// Block is POST /admin/users/:id/block (password re-check), until the
// form's "until" (blockUntil).
func (h *Admin) Block(c *fiber.Ctx) error {
	uid, err := userID(c)
	if err != nil {
		return err
	}
	until, refusal := h.blockUntil(c)
	if refusal != "" {
		return h.renderUser(c, fiber.StatusBadRequest, fail(refusal))
	}
	if err := h.recheck(c); err != nil {
		return h.refuseRecheck(c, err, func() error { return h.renderUser(c, fiber.StatusForbidden, fail(wrongRecheck(c))) })
	}
	n, err := h.actions.BlockUser(c.UserContext(), uid, until, adminOf(c).Actor(), adminClient(c))
	if errors.Is(err, models.ErrNotFound) {
		return h.renderUser(c, fiber.StatusNotFound, nil)
	}
	if err != nil {
		return err
	}
	done := ok("User blocked; " + views.Plural(n, "session", "sessions") + " revoked.")
	return h.done(c, views.UserURL(uid), done, func() error { return h.renderUser(c, fiber.StatusOK, done) })
}

// Unblock is POST /admin/users/:id/unblock.
func (h *Admin) Unblock(c *fiber.Ctx) error {
	uid, err := userID(c)
	if err != nil {
		return err
	}
	err = h.actions.UnblockUser(c.UserContext(), uid, adminOf(c).Actor(), adminClient(c))
	if errors.Is(err, models.ErrNotFound) {
		return h.renderUser(c, fiber.StatusNotFound, nil)
	}
	if err != nil {
		return err
	}
	n := ok("User unblocked: they can sign in again.")
	return h.done(c, views.UserURL(uid), n, func() error { return h.renderUser(c, fiber.StatusOK, n) })
}

// actionUser reads the user an action on /admin/users/:id is about. A bad
// id or a user deleted meanwhile is answered here (the user page's 404):
// answered is then true and err is what to return.
func (h *Admin) actionUser(c *fiber.Ctx) (u *models.User, answered bool, err error) {
	uid, err := userID(c)
	if err != nil {
		return nil, true, err
	}
	u, err = h.dash.UserByID(c.UserContext(), uid)
	if errors.Is(err, models.ErrNotFound) {
		return nil, true, h.renderUser(c, fiber.StatusNotFound, nil)
	}
	return u, err != nil, err
}

// Delete is POST /admin/users/:id/delete: typed confirmation and password.
func (h *Admin) Delete(c *fiber.Ctx) error {
	u, answered, err := h.actionUser(c)
	if answered {
		return err
	}
	uid := u.ID
	// The number as the page shows it, as E.164, or in any format a search
	// takes: what matters is that it is this user's (a recycled number's
	// old account: the number it had).
	want := u.Phone
	if u.NumberLost() {
		want = u.LostPhone
	}
	if typed, err := models.ParseDashboardPhone(c.FormValue("confirm"), h.cfg.Region); err != nil || typed.E164 != want {
		return h.renderUser(c, fiber.StatusBadRequest, fail("The typed phone number does not match: nothing was deleted."))
	}
	if err := h.recheck(c); err != nil {
		return h.refuseRecheck(c, err, func() error { return h.renderUser(c, fiber.StatusForbidden, fail(wrongRecheck(c))) })
	}
	if _, err := h.actions.DeleteUser(c.UserContext(), uid, adminOf(c).Actor(), adminClient(c)); err != nil {
		return err
	}
	n := ok("User " + want + " deleted, with their photo and address book.")
	return h.done(c, views.AdminURL(views.PathUsers), n, func() error {
		c.Locals(localNotice, n)
		return h.renderUsers(c, fiber.StatusOK)
	})
}

// ResendUser is POST /admin/users/:id/resend.
func (h *Admin) ResendUser(c *fiber.Ctx) error {
	u, answered, err := h.actionUser(c)
	if answered {
		return err
	}
	uid := u.ID
	status, notice, err := h.resend(c, models.Phone{E164: u.Phone, CountryCode: u.CountryCode})
	if err != nil {
		return err
	}
	if status != fiber.StatusOK {
		return h.renderUser(c, status, notice)
	}
	return h.done(c, views.UserURL(uid), notice, func() error { return h.renderUser(c, status, notice) })
}

// Moderate is POST /admin/users/:id/moderate (password re-check): clears
// the chosen parts of the profile (name, status, photo); the user's
// contacts get the usual profile notice.
func (h *Admin) Moderate(c *fiber.Ctx) error {
	uid, err := userID(c)
	if err != nil {
		return err
	}
	m := models.Moderation{Name: c.FormValue("name") == "1", Status: c.FormValue("status") == "1", Photo: c.FormValue("photo") == "1"}
	if m.Cleared() == "" {
		return h.renderUser(c, fiber.StatusBadRequest, fail("Choose the name, the status or the photo to clear: nothing was changed."))
	}
	if err := h.recheck(c); err != nil {
		return h.refuseRecheck(c, err, func() error { return h.renderUser(c, fiber.StatusForbidden, fail(wrongRecheck(c))) })
	}
	err = h.actions.Moderate(c.UserContext(), uid, m, adminOf(c), adminClient(c))
	if errors.Is(err, models.ErrNotFound) {
		return h.renderUser(c, fiber.StatusNotFound, nil)
	}
	if err != nil {
		return err
	}
	n := ok("Cleared the " + m.Cleared() + "; the user's contacts are told of the new profile.")
	return h.done(c, views.UserURL(uid), n, func() error { return h.renderUser(c, fiber.StatusOK, n) })
}

// EditProfile is POST /admin/users/:id/profile: sets the name and status;
// the user's contacts get the usual profile notice. A text longer than an
// app may send is refused, not cut.
func (h *Admin) EditProfile(c *fiber.Ctx) error {
	uid, err := userID(c)
	if err != nil {
		return err
	}
	name, status := strings.TrimSpace(c.FormValue("name")), strings.TrimSpace(c.FormValue("status"))
	switch {
	case utf8.RuneCountInString(name) > models.MaxNameLen:
		return h.renderUser(c, fiber.StatusBadRequest, fail(fmt.Sprintf("The name is longer than %d characters: nothing was changed.", models.MaxNameLen)))
	case utf8.RuneCountInString(status) > models.MaxStatusLen:
		return h.renderUser(c, fiber.StatusBadRequest, fail(fmt.Sprintf("The status is longer than %d characters: nothing was changed.", models.MaxStatusLen)))
	}
	err = h.actions.EditProfile(c.UserContext(), uid, name, status, adminOf(c), adminClient(c))
	if errors.Is(err, models.ErrNotFound) {
		return h.renderUser(c, fiber.StatusNotFound, nil)
	}
	if err != nil {
		return err
	}
	n := ok("Saved the name and status; the user's contacts are told of the new profile.")
	return h.done(c, views.UserURL(uid), n, func() error { return h.renderUser(c, fiber.StatusOK, n) })
}
