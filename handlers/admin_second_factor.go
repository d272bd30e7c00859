package handlers

import (
	"bytes"
	"encoding/base64"
	"errors"
	"image/png"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"roster/models"
	"roster/views"
)

// Two-factor sign-in: the sign-in's second step (/admin/login/code), an
// admin's enrolment and its end (account page), and the owners' rule that
// every admin must have it (admins page). models/admin_second_factor.go
// keeps the secrets and checks the codes.

// totpIssuer names the dashboard in authenticator apps.
const totpIssuer = "Roster"

// secondFactorEnrolPath reports whether path is one of the only pages an
// admin without a second factor reaches while owners require one: their
// account, to enrol, and signing out.
func secondFactorEnrolPath(path string) bool {
	for _, p := range []string{views.PathAccount, views.PathAccountPassword, views.PathAccount2FASetup, views.PathAccount2FAConfirm, views.PathLogout} {
		if path == views.AdminURL(p) {
			return true
		}
	}
	return false
}

// enrolFirst sends an admin without a second factor to their account page
// while owners require one; it reports whether it answered.
func (h *Admin) enrolFirst(c *fiber.Ctx, admin *models.Admin) (bool, error) {
	if admin.HasSecondFactor() || secondFactorEnrolPath(c.Path()) {
		return false, nil
	}
	required, err := h.admins.SecondFactorRequired(c.UserContext())
	if err != nil || !required {
		return false, err
	}
	account := views.AdminURL(views.PathAccount)
	if isHTMX(c) {
		c.Set("HX-Redirect", account)
		return true, c.SendStatus(fiber.StatusForbidden)
	}
	return true, c.Redirect(account, fiber.StatusSeeOther)
}

// SecondFactorForm is GET /admin/login/code: the sign-in's second step,
// for a browser whose password was right.
func (h *Admin) SecondFactorForm(c *fiber.Ctx) error {
	sid, _, _ := h.cookie.Load(c)
	sess, _, err := h.admins.PendingSession(c.UserContext(), sid)
	if errors.Is(err, models.ErrAdminSessionEnded) {
		return c.Redirect(views.AdminURL(views.PathLogin), fiber.StatusSeeOther)
	}
	if err != nil {
		return err
	}
	return h.renderSecondFactor(c, fiber.StatusOK, sess, "")
}

func (h *Admin) renderSecondFactor(c *fiber.Ctx, status int, sess *models.AdminSession, msg string) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return Render(c, status, views.AdminLoginCode(views.LoginCodeVM{Error: msg, Token: sess.CSRFToken, Next: safeNext(c.Query("next"))}))
}

// SecondFactorLogin is POST /admin/login/code: a code from the
// authenticator app or a recovery code completes the sign-in.
func (h *Admin) SecondFactorLogin(c *fiber.Ctx) error {
	sid, _, _ := h.cookie.Load(c)
	sess, _, err := h.admins.PendingSession(c.UserContext(), sid)
	if errors.Is(err, models.ErrAdminSessionEnded) {
		return h.renderLogin(c, fiber.StatusUnauthorized, "", "The time to give the code has passed, or the sign-in was ended: sign in again.", "")
	}
	if err != nil {
		return err
	}
	if !constantEqual(bodyFormValue(c, csrfField), sess.CSRFToken) {
		return h.renderSecondFactor(c, fiber.StatusForbidden, sess, "The form has expired. Please try again.")
	}
	next := safeNext(c.FormValue("next"))
	fresh, err := h.admins.SecondFactor(c.UserContext(), sid, c.FormValue("code"), adminClient(c), h.cookie.KnownAdmin(c))
	var throttled *models.ThrottledError
	switch {
	case errors.Is(err, models.ErrAdminSessionEnded):
		return h.renderLogin(c, fiber.StatusUnauthorized, "", "The time to give the code has passed, or the sign-in was ended: sign in again.", next)
	case errors.Is(err, models.ErrBadSecondFactor):
		return h.renderSecondFactor(c, fiber.StatusUnauthorized, sess, "The code is wrong, or was used before: each code and each recovery code is good once.")
	case errors.As(err, &throttled):
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int((throttled.Wait+time.Second-1)/time.Second)))
		return h.renderSecondFactor(c, fiber.StatusTooManyRequests, sess, throttled.Message())
	case err != nil:
		return err
	}
	if err := h.cookie.Save(c, fresh, "", ""); err != nil {
		return err
	}
	if err := h.cookie.RememberAdmin(c, sess.AdminID); err != nil {
		return err
	}
	if next == "" {
		next = views.AdminURL(views.PathOverview)
	}
	return c.Redirect(next, fiber.StatusSeeOther)
}

// secondFactorStep is where a sign-in whose password was right goes next.
func secondFactorStep(next string) string {
	q := url.Values{}
	if next != "" {
		q.Set("next", next)
	}
	return views.ListURL(views.PathLoginCode, q)
}

// accountVM is the two-factor part of the account page. codes are the
// recovery codes of an enrolment just confirmed (shown once).
func (h *Admin) accountVM(c *fiber.Ctx, codes []string) (views.AccountVM, error) {
	ctx := c.UserContext()
	a, err := h.admins.ByID(ctx, adminOf(c).ID) // fresh: an action on this request may have changed it
	if err != nil {
		return views.AccountVM{}, err
	}
	vm := views.AccountVM{SecondFactorOn: a.HasSecondFactor(), RecoveryCodes: codes, Actor: a.Actor()}
	if vm.Actions, err = h.recentActions(c, a); err != nil {
		return vm, err
	}
	if vm.Required, err = h.admins.SecondFactorRequired(ctx); err != nil {
		return vm, err
	}
	if vm.SecondFactorOn {
		vm.RecoveryLeft, err = h.admins.RecoveryCodesLeft(ctx, a.ID)
		return vm, err
	}
	key, err := h.admins.PendingEnrolment(a, totpIssuer)
	if err != nil || key == nil {
		return vm, err
	}
	vm.Setup = &views.SecondFactorSetupVM{Secret: key.Secret(), URI: key.URL()}
	img, err := key.Image(240, 240)
	if err != nil {
		return vm, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return vm, err
	}
	vm.Setup.QR = "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
	return vm, nil
}

// StartEnrolment is POST /admin/account/2fa/setup: a new secret, shown
// with its QR code until a first code confirms it.
func (h *Admin) StartEnrolment(c *fiber.Ctx) error {
	err := h.admins.StartEnrolment(c.UserContext(), adminOf(c), totpIssuer)
	if errors.Is(err, models.ErrSecondFactorOn) {
		return h.renderAccount(c, fiber.StatusConflict, fail("Two-factor sign-in is already on."), nil)
	}
	if err != nil {
		return err
	}
	n := ok("Add the key to your authenticator app, then confirm with the code it shows.")
	return h.done(c, views.AdminURL(views.PathAccount), n, func() error { return h.renderAccount(c, fiber.StatusOK, n, nil) })
}

// ConfirmEnrolment is POST /admin/account/2fa/confirm: the password and a
// first code turn two-factor sign-in on; the recovery codes are shown in
// the answer, once, never through a redirect.
func (h *Admin) ConfirmEnrolment(c *fiber.Ctx) error {
	codes, err := h.admins.ConfirmEnrolment(c.UserContext(), adminOf(c), adminSessionOf(c), c.FormValue("password"), c.FormValue("code"), adminClient(c))
	switch {
	case errors.Is(err, models.ErrNoEnrolment):
		return h.renderAccount(c, fiber.StatusConflict, fail("No enrolment is waiting for a code (it was confirmed or started again elsewhere): nothing was changed."), nil)
	case errors.Is(err, models.ErrBadSecondFactor):
		return h.renderAccount(c, fiber.StatusBadRequest, fail("The code does not match the key: check that the phone's clock is right and type the code it shows now. Nothing was changed."), nil)
	case err != nil:
		return h.refuseRecheck(c, err, func() error { return h.renderAccount(c, fiber.StatusForbidden, fail(wrongRecheck(c)), nil) })
	}
	return h.renderAccount(c, fiber.StatusOK, ok("Two-factor sign-in is on. Keep the recovery codes below somewhere safe: they are shown only now."), codes)
}

// DisableSecondFactor is POST /admin/account/2fa/disable, with the
// password and a code (or a recovery code).
func (h *Admin) DisableSecondFactor(c *fiber.Ctx) error {
	err := h.admins.DisableSecondFactor(c.UserContext(), adminOf(c), adminSessionOf(c), c.FormValue("password"), c.FormValue("code"), adminClient(c))
	if err != nil {
		return h.refuseRecheck(c, err, func() error {
			return h.renderAccount(c, fiber.StatusForbidden, fail("Your password or the code was wrong: nothing was changed."), nil)
		})
	}
	n := ok("Two-factor sign-in is off; your recovery codes no longer work.")
	return h.done(c, views.AdminURL(views.PathAccount), n, func() error { return h.renderAccount(c, fiber.StatusOK, n, nil) })
}

// SetSecondFactorPolicy is POST /admin/admins/2fa (owners): require
// two-factor sign-in of every admin, or not.
func (h *Admin) SetSecondFactorPolicy(c *fiber.Ctx) error {
	on := c.FormValue("required") == "on"
	err := h.admins.SetSecondFactorRequired(c.UserContext(), adminOf(c), adminSessionOf(c), c.FormValue("password"), on, adminClient(c))
	switch {
	case errors.Is(err, models.ErrOwnSecondFactorFirst):
		return h.renderAdmins(c, fiber.StatusConflict, fail("Turn on your own two-factor sign-in first (on your account page): nothing was changed."), nil)
	case err != nil:
		return h.refuseRecheck(c, err, func() error { return h.renderAdmins(c, fiber.StatusForbidden, fail(wrongRecheck(c)), nil) })
	}
	n := ok("Two-factor sign-in is optional.")
	if on {
		n = ok("Two-factor sign-in is required: admins without it are sent to set it up after their password.")
	}
	return h.done(c, views.AdminURL(views.PathAdmins), n, func() error { return h.renderAdmins(c, fiber.StatusOK, n, nil) })
}
