package handlers

import (
	"fmt"

	"github.com/gofiber/fiber/v2"

	"roster/models"
	"roster/views"
)

// UnlockUser is POST /admin/users/:id/unlock: the user's number unlocked
// (models.UnlockPhone).
func (h *Admin) UnlockUser(c *fiber.Ctx) error {
	u, answered, err := h.actionUser(c)
	if answered {
		return err
	}
	uid := u.ID
	n, err := h.unlock(c, u.Phone)
	if err != nil {
		return err
	}
	return h.done(c, views.UserURL(uid), n, func() error { return h.renderUser(c, fiber.StatusOK, n) })
}

// UnlockNumber is POST /admin/codes/unlock with a phone number in any
// format; the codes page's filter comes back in the URL.
func (h *Admin) UnlockNumber(c *fiber.Ctx) error {
	p, err := models.ParseDashboardPhone(c.FormValue("phone"), h.cfg.Region)
	if err != nil {
		return h.renderCodes(c, fiber.StatusBadRequest, fail("Not a phone number: "+err.Error()+". Nothing was unlocked."), "")
	}
	n, err := h.unlock(c, p.E164)
	if err != nil {
		return err
	}
	filter, _, _, _ := h.codesFilter(c)
	return h.done(c, filter.Newest().URL(), n, func() error { return h.renderCodes(c, fiber.StatusOK, n, "") })
}

func (h *Admin) unlock(c *fiber.Ctx, e164 string) (*views.Notice, error) {
	u, err := h.actions.UnlockPhone(c.UserContext(), e164, adminOf(c).Actor(), adminClient(c))
	if err != nil {
		return nil, err
	}
	locks := "it was locked on no network"
	switch {
	case u.Locked == 1:
		locks = "it was locked on 1 network"
	case u.Locked > 1:
		locks = fmt.Sprintf("it was locked on %d networks", u.Locked)
	}
	return ok("Unlocked " + e164 + ": " + locks + "; its wrong codes and its hourly and daily code quotas start afresh."), nil
}
