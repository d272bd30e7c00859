package handlers

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"roster/models"
	"roster/views"
)

// The admin accounts page, /admin/admins, for owners only: list, create
// with a role, change a role, disable and enable, reset a password (the new
// one shown once), turn off the two-factor sign-in of an admin who lost
// their authenticator, see and end an admin's sessions. Every change asks for
// the owner's password again (recheck) but ending one session, and is
// audited by models.Admins. admin_account.go is an admin's own password.

// OwnerOnly refuses the admin accounts pages to operators and viewers.
func (h *Admin) OwnerOnly(c *fiber.Ctx) error {
	if a := adminOf(c); a == nil || a.Role != models.RoleOwner {
		return h.refuse(c, fiber.StatusForbidden, "Only owners manage admin accounts.")
	}
	return c.Next()
}

// Admins is GET /admin/admins.
func (h *Admin) Admins(c *fiber.Ctx) error { return h.renderAdmins(c, fiber.StatusOK, nil, nil) }

func (h *Admin) renderAdmins(c *fiber.Ctx, status int, notice *views.Notice, shown *views.OneTimePassword) error {
	rows, err := h.admins.ListAdmins(c.UserContext())
	if err != nil {
		return err
	}
	vm := views.AdminsVM{SelfID: adminOf(c).ID, Shown: shown}
	if vm.SecondFactorRequired, err = h.admins.SecondFactorRequired(c.UserContext()); err != nil {
		return err
	}
	for _, r := range rows {
		vm.Rows = append(vm.Rows, views.AdminRowVM{ID: r.ID, Name: r.Name, Role: r.Role, Disabled: r.DisabledAt != nil,
			Created: r.CreatedAt, LastSeen: r.LastSeenAt, LiveSessions: r.LiveSessions, SecondFactor: r.HasSecondFactor()})
	}
	meta := h.meta(c, "admins", "Admins")
	if notice != nil {
		meta.Notice = notice
	}
	return Render(c, status, views.AdminAdmins(meta, vm))
}

// adminAccountError is the notice of a refused change, or false when err
// is not one the owner can fix.
func adminAccountError(err error) (*views.Notice, bool) {
	for _, e := range []error{models.ErrLastOwner, models.ErrSelf, models.ErrBadRole, models.ErrBadAdminName, models.ErrAdminExists, models.ErrWeakPassword, models.ErrNoSecondFactor} {
		if errors.Is(err, e) {
			msg := e.Error()
			return fail(strings.ToUpper(msg[:1]) + msg[1:] + ": nothing was changed."), true
		}
	}
	return nil, false
}

// CreateAdmin is POST /admin/admins: a name and a role; the password is
// generated and shown once.
func (h *Admin) CreateAdmin(c *fiber.Ctx) error {
	name, role := strings.TrimSpace(c.FormValue("name")), c.FormValue("role")
	if err := models.CheckAdminInput(name, role); err != nil {
		n, _ := adminAccountError(err)
		return h.renderAdmins(c, fiber.StatusBadRequest, n, nil)
	}
	if err := h.recheck(c); err != nil {
		return h.refuseRecheck(c, err, func() error { return h.renderAdmins(c, fiber.StatusForbidden, fail(wrongRecheck(c)), nil) })
	}
	password := models.GeneratePassword()
	if _, err := h.admins.Create(c.UserContext(), name, role, password, adminOf(c).Actor(), adminClient(c)); err != nil {
		if n, ok := adminAccountError(err); ok {
			return h.renderAdmins(c, fiber.StatusConflict, n, nil)
		}
		return err
	}
	// Answered in place, never through a redirect: the password is not put
	// in the flash cookie.
	return h.renderAdmins(c, fiber.StatusOK, ok("Admin "+name+" created as "+role+"."), &views.OneTimePassword{Name: name, Password: password})
}

func adminID(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fiber.ErrNotFound
	}
	return id, nil
}

// adminChange runs a rechecked change on the admin of :id and answers with
// the accounts page.
func (h *Admin) adminChange(c *fiber.Ctx, done string, change func(id int64) error) error {
	id, err := adminID(c)
	if err != nil {
		return err
	}
	if err := h.recheck(c); err != nil {
		return h.refuseRecheck(c, err, func() error { return h.renderAdmins(c, fiber.StatusForbidden, fail(wrongRecheck(c)), nil) })
	}
	switch err := change(id); {
	case errors.Is(err, models.ErrNotFound):
		return h.renderAdmins(c, fiber.StatusNotFound, fail("There is no such admin."), nil)
	case err != nil:
		if n, ok := adminAccountError(err); ok {
			return h.renderAdmins(c, fiber.StatusConflict, n, nil)
		}
		return err
	}
	n := ok(done)
	return h.done(c, views.AdminURL(views.PathAdmins), n, func() error { return h.renderAdmins(c, fiber.StatusOK, n, nil) })
}

// SetAdminRole is POST /admin/admins/:id/role.
func (h *Admin) SetAdminRole(c *fiber.Ctx) error {
	role := c.FormValue("role")
	return h.adminChange(c, "Role changed to "+role+".", func(id int64) error {
		return h.admins.SetRole(c.UserContext(), id, role, adminOf(c), adminClient(c))
	})
}

// DisableAdmin is POST /admin/admins/:id/disable: the admin's sessions end.
func (h *Admin) DisableAdmin(c *fiber.Ctx) error {
	return h.adminChange(c, "Admin disabled: signed out everywhere, cannot sign in.", func(id int64) error {
		return h.admins.SetDisabled(c.UserContext(), id, true, adminOf(c), adminClient(c))
	})
}

// EnableAdmin is POST /admin/admins/:id/enable.
func (h *Admin) EnableAdmin(c *fiber.Ctx) error {
	return h.adminChange(c, "Admin enabled: they can sign in again.", func(id int64) error {
		return h.admins.SetDisabled(c.UserContext(), id, false, adminOf(c), adminClient(c))
	})
}

// RemoveAdminSecondFactor is POST /admin/admins/:id/2fa/remove, for an
// admin who lost their authenticator and recovery codes: they sign in with
// their password alone, and their sessions end.
func (h *Admin) RemoveAdminSecondFactor(c *fiber.Ctx) error {
	return h.adminChange(c, "Two-factor sign-in turned off: the admin was signed out everywhere and signs in with their password alone, and may set it up again.", func(id int64) error {
		return h.admins.RemoveSecondFactor(c.UserContext(), id, adminOf(c), adminClient(c))
	})
}

// ResetAdminPassword is POST /admin/admins/:id/reset: a generated password,
// shown once; the admin's sessions end.
func (h *Admin) ResetAdminPassword(c *fiber.Ctx) error {
	id, err := adminID(c)
	if err != nil {
		return err
	}
	if id == adminOf(c).ID {
		return h.renderAdmins(c, fiber.StatusConflict, fail("Change your own password on your account page, with the old one."), nil)
	}
	target, err := h.admins.ByID(c.UserContext(), id)
	if errors.Is(err, models.ErrNotFound) {
		return h.renderAdmins(c, fiber.StatusNotFound, fail("There is no such admin."), nil)
	}
	if err != nil {
		return err
	}
	if err := h.recheck(c); err != nil {
		return h.refuseRecheck(c, err, func() error { return h.renderAdmins(c, fiber.StatusForbidden, fail(wrongRecheck(c)), nil) })
	}
	password := models.GeneratePassword()
	if err := h.admins.ResetPassword(c.UserContext(), target.Name, password, adminOf(c).Actor(), adminClient(c)); err != nil {
		return err
	}
	return h.renderAdmins(c, fiber.StatusOK, ok("New password for "+target.Name+"; their sessions ended."), &views.OneTimePassword{Name: target.Name, Password: password})
}

// AdminDetail is GET /admin/admins/:id: an admin's sessions.
func (h *Admin) AdminDetail(c *fiber.Ctx) error { return h.renderAdminDetail(c, fiber.StatusOK, nil) }

func (h *Admin) renderAdminDetail(c *fiber.Ctx, status int, notice *views.Notice) error {
	id, err := adminID(c)
	if err != nil {
		return err
	}
	a, err := h.admins.ByID(c.UserContext(), id)
	if errors.Is(err, models.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	sessions, err := h.admins.AdminSessions(c.UserContext(), id)
	if err != nil {
		return err
	}
	vm := views.AdminDetailVM{ID: a.ID, Name: a.Name, Role: a.Role, Disabled: a.DisabledAt != nil, Actor: a.Actor()}
	if vm.Actions, err = h.recentActions(c, a); err != nil {
		return err
	}
	current := adminSessionOf(c).ID
	for _, s := range sessions {
		state := "ended"
		if h.admins.SessionLive(&s) {
			state = "active"
		}
		vm.Sessions = append(vm.Sessions, views.AdminSessionVM{ID: s.ID, IP: s.IP, UserAgent: s.UserAgent, Created: s.CreatedAt,
			LastSeen: s.LastSeenAt, State: state, Current: s.ID == current})
	}
	meta := h.meta(c, "admins", "Admin "+a.Name)
	if notice != nil {
		meta.Notice = notice
	}
	return Render(c, status, views.AdminAdminDetail(meta, vm))
}

// EndAdminSession is POST /admin/admins/:id/sessions/:sid/end.
func (h *Admin) EndAdminSession(c *fiber.Ctx) error {
	id, err := adminID(c)
	if err != nil {
		return err
	}
	sid, err := strconv.ParseInt(c.Params("sid"), 10, 64)
	if err != nil {
		return fiber.ErrNotFound
	}
	_, err = h.admins.EndAdminSession(c.UserContext(), id, sid, adminOf(c), adminClient(c))
	if errors.Is(err, models.ErrNotFound) {
		return h.renderAdminDetail(c, fiber.StatusNotFound, fail("No such live session of this admin."))
	}
	if err != nil {
		return err
	}
	n := ok("Session ended: that browser must sign in again.")
	return h.done(c, views.AdminURL(views.PathAdmin, id), n, func() error { return h.renderAdminDetail(c, fiber.StatusOK, n) })
}
