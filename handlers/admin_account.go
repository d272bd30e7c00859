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

// OwnerPasswordFile is the file the first start writes the owner's
// generated password to (web's owner-password.txt).
type OwnerPasswordFile interface {
	// Retire deletes the file when it holds password (an admin's password
	// before they changed it) and reports whether it did; an error when the
	// file holds it and could not be deleted.
	Retire(password string) (bool, error)
	// Left is the file's path while a deletion failed and the file is
	// still there, "" otherwise.
	Left() string
}

// recentActionsShown is how many of an admin's latest actions their page lists.
const recentActionsShown = 20

// recentActions are the admin's latest audit entries as the actor (their
// sign-ins too), for their own page and the owners' page of them.
func (h *Admin) recentActions(c *fiber.Ctx, a *models.Admin) ([]views.AuditVM, error) {
	entries, _, err := h.dash.Audit(c.UserContext(), models.AuditFilter{Actor: a.Actor(), Limit: recentActionsShown})
	return auditVMs(entries), err
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
	if f := h.cfg.OwnerPassword; f != nil {
		// The old password was right: if the first start's file holds it,
		// the file has served its purpose.
		switch removed, err := f.Retire(c.FormValue("password")); {
		case err != nil:
			n = fail("Password changed; your other sessions ended. The file " + f.Left() + " still holds your first password and could not be deleted: delete it on the server.")
		case removed:
			n.Text += " The file that held your first password (owner-password.txt) was deleted."
		}
	}
	return h.done(c, views.AdminURL(views.PathAccount), n, func() error { return h.renderAccount(c, fiber.StatusOK, n, nil) })
}
