package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"roster/models"
	"roster/views"
)

// CancelDeletion is POST /admin/users/:id/cancel-deletion: the deletion a
// user asked for with a grace period (--deletion-grace) is cancelled, and
// the account comes back as it was. Deleting it now is the user page's
// delete.
func (h *Admin) CancelDeletion(c *fiber.Ctx) error {
	uid, err := userID(c)
	if err != nil {
		return err
	}
	err = h.cfg.Accounts.CancelDeletion(c.UserContext(), uid, adminOf(c), adminClient(c))
	switch {
	case errors.Is(err, models.ErrNotFound):
		return h.renderUser(c, fiber.StatusNotFound, nil)
	case errors.Is(err, models.ErrNotPending):
		return h.renderUser(c, fiber.StatusConflict, fail("This account has no pending deletion: nothing was changed."))
	case err != nil:
		return err
	}
	n := ok("Deletion cancelled: address books find the user again, and they can sign in as before.")
	return h.done(c, views.UserURL(uid), n, func() error { return h.renderUser(c, fiber.StatusOK, n) })
}
