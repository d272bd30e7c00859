package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"roster/models"
	"roster/views"
)

// Account is GET /admin/account: the signed-in admin's own account, where
// any admin, viewers too, changes their password with the old one.
func (h *Admin) Account(c *fiber.Ctx) error { return h.renderAccount(c, fiber.StatusOK, nil, nil) }

// renderAccount answers with the account page; recoveryCodes are those of
// an enrolment just confirmed, shown this once.
func (h *Admin) renderAccount(c *fiber.Ctx, status int, notice *views.Notice, recoveryCodes []string) error {
	meta := h.meta(c, "account", "Your account")
	if notice != nil {
		meta.Notice = notice
	}
	vm, err := h.accountVM(c, recoveryCodes)
	if err != nil {
		return err
	}
	return Render(c, status, views.AdminAccount(meta, vm))
}

// ChangePassword is POST /admin/account/password: the old password (a
// wrong one counts like a failed re-check), the new one twice.
func (h *Admin) ChangePassword(c *fiber.Ctx) error {
	newPassword := c.FormValue("new_password")
	if newPassword != c.FormValue("new_password2") {
		return h.renderAccount(c, fiber.StatusBadRequest, fail("The two new passwords differ: nothing was changed."), nil)
	}
	err := h.admins.ChangeOwnPassword(c.UserContext(), adminOf(c), adminSessionOf(c), c.FormValue("password"), newPassword, adminClient(c))
	switch {
	case errors.Is(err, models.ErrWeakPassword):
		return h.renderAccount(c, fiber.StatusBadRequest, fail("The new password must be at least 12 characters: nothing was changed."), nil)
	case errors.Is(err, models.ErrCommonPassword):
		return h.renderAccount(c, fiber.StatusBadRequest, fail("The new password is a common one: it is on a list of the passwords leaked most often (as it is, repeated, or with digits or symbols added), the first ones an attacker tries. Choose another; nothing was changed."), nil)
	case err != nil:
		return h.refuseRecheck(c, err, func() error {
			return h.renderAccount(c, fiber.StatusForbidden, fail("Your current password was wrong: nothing was changed."), nil)
		})
	}
	n := ok("Password changed; your other sessions ended.")
	return h.done(c, views.AdminURL(views.PathAccount), n, func() error { return h.renderAccount(c, fiber.StatusOK, n, nil) })
}
