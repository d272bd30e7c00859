package handlers

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"roster/models"
	"roster/views"
)

// CreateUser is POST /admin/users (password re-check): an account for a
// number in any format, named as the form says, awaiting its owner's first
// sign-in (models.UserActions.CreateUser). A refusal answers the users
// list with the form open and its notice in it; success goes to the new
// user's page.
func (h *Admin) CreateUser(c *fiber.Ctx) error {
	phone, name := strings.TrimSpace(c.FormValue("phone")), strings.TrimSpace(c.FormValue("name"))
	refuse := func(status int, msg string, existing *views.UserLinkVM) error {
		c.Locals(localNotice, &views.Notice{Text: msg, Near: views.CreateUserSection})
		return h.renderUsersWith(c, status, func(vm *views.UsersVM) {
			vm.Create = views.CreateUserVM{Open: true, Phone: phone, Name: name, Existing: existing}
		})
	}
	p, err := models.ParseDashboardPhone(phone, h.cfg.Region)
	if err != nil {
		return refuse(fiber.StatusBadRequest, "Not a phone number: "+err.Error()+". Nothing was created.", nil)
	}
	if utf8.RuneCountInString(name) > models.MaxNameLen {
		return refuse(fiber.StatusBadRequest, fmt.Sprintf("The name is longer than %d characters: nothing was created.", models.MaxNameLen), nil)
	}
	if err := h.recheck(c); err != nil {
		return h.refuseRecheck(c, err, func() error { return refuse(fiber.StatusForbidden, wrongRecheck(c), nil) })
	}
	u, err := h.actions.CreateUser(c.UserContext(), p, name, adminOf(c).Actor(), adminClient(c))
	var existing *models.ExistingUserError
	if errors.As(err, &existing) {
		return refuse(fiber.StatusConflict, p.E164+" already has an account: nothing was created.",
			&views.UserLinkVM{ID: existing.ID, Phone: existing.Phone})
	}
	if err != nil {
		return err
	}
	n := ok("Created the account of " + u.Phone + ". Its owner signs in with a code as anyone does; until then no address book finds it, and its contacts are told it joined only then.")
	// The new user's page, with the notice as a flash, whether or not the
	// form came through htmx: the list is no longer the page to be on.
	sid, _, _ := h.cookie.Load(c)
	if err := h.cookie.Save(c, sid, "", n.Text); err != nil {
		return err
	}
	if isHTMX(c) {
		c.Set("HX-Redirect", views.UserURL(u.ID))
		return c.SendStatus(fiber.StatusNoContent)
	}
	return c.Redirect(views.UserURL(u.ID), fiber.StatusSeeOther)
}
