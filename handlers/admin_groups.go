package handlers

import (
	"errors"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"roster/models"
	"roster/views"
)

// groupsPage is how many groups one page of the groups list shows.
const groupsPage = 50

// Groups is GET /admin/groups: search by name, sort by last change or
// name, keyset pages.
func (h *Admin) Groups(c *fiber.Ctx) error {
	return h.renderGroups(c, fiber.StatusOK)
}

func (h *Admin) renderGroups(c *fiber.Ctx, status int) error {
	f := models.GroupFilter{Name: strings.TrimSpace(c.Query("q")), Sort: c.Query("sort"), After: c.Query("after")}
	if f.Sort != "name" {
		f.Sort = "changed"
	}
	rows, more, err := h.dash.Groups(c.UserContext(), f, groupsPage)
	if err != nil {
		return err
	}
	vm := views.GroupsVM{Q: f.Name, Sort: f.Sort}
	for _, r := range rows {
		vm.Rows = append(vm.Rows, views.GroupRowVM{ID: r.ID, Name: r.Name, Members: r.Members, OwnerID: r.OwnerID,
			OwnerPhone: r.OwnerPhone, Created: r.CreatedAt, Changed: r.ChangedAt, Deleted: r.DeletedAt != nil})
	}
	if more {
		q := url.Values{"sort": {f.Sort}, "after": {rows[len(rows)-1].AfterKey(f.Sort)}}
		if f.Name != "" {
			q.Set("q", f.Name)
		}
		vm.NextURL = views.ListURL(views.PathGroups, q)
	}
	return Render(c, status, views.AdminGroups(h.meta(c, "groups", "Groups"), vm))
}

// Group is GET /admin/groups/:id.
func (h *Admin) Group(c *fiber.Ctx) error {
	return h.renderGroup(c, fiber.StatusOK, nil)
}

func (h *Admin) renderGroup(c *fiber.Ctx, status int, notice *views.Notice) error {
	gid, err := userID(c) // the same rule for a group's :id
	if err != nil {
		return err
	}
	det, err := h.dash.GroupDetail(c.UserContext(), gid)
	if errors.Is(err, models.ErrNotFound) {
		return Render(c, fiber.StatusNotFound, views.AdminMessage(h.meta(c, "groups", "No such group"), "No such group", "There is no group with this id."))
	}
	if err != nil {
		return err
	}
	vm := views.GroupVM{ID: det.ID, Name: det.Name, Created: det.CreatedAt, Changed: det.ChangedAt, Deleted: det.DeletedAt != nil,
		History: auditVMs(det.History)}
	if isJPEG(det.Thumbnail) {
		vm.ThumbnailURL = "data:image/jpeg;base64," + det.Thumbnail // a thumbnail models.StorePhoto made (as the user page's)
	}
	if det.Photo != "" {
		vm.PhotoURL = h.cfg.PhotoURL + url.PathEscape(det.Photo)
	}
	for _, m := range det.Members {
		vm.Members = append(vm.Members, views.GroupMemberVM{UserID: m.UserID, Phone: m.Phone, Role: roleName(m.Role), Added: m.AddedAt})
	}
	meta := h.meta(c, "groups", displayGroupName(det.Name))
	if notice != nil {
		meta.Notice = notice
	}
	return Render(c, status, views.AdminGroup(meta, vm))
}

// DeleteGroup is POST /admin/groups/:id/delete, with the password re-check.
func (h *Admin) DeleteGroup(c *fiber.Ctx) error {
	gid, err := userID(c)
	if err != nil {
		return err
	}
	if err := h.recheck(c); err != nil {
		return h.refuseRecheck(c, err, func() error { return h.renderGroup(c, fiber.StatusForbidden, fail(wrongPassword)) })
	}
	grp, err := h.groups.AdminDelete(c.UserContext(), gid, adminOf(c), adminClient(c))
	if errors.Is(err, models.ErrNotFound) {
		return h.renderGroup(c, fiber.StatusNotFound, fail("This group no longer exists."))
	}
	if err != nil {
		return err
	}
	n := ok("Group " + displayGroupName(grp.Name) + " deleted; its members are told.")
	return h.done(c, views.GroupURL(gid), n, func() error { return h.renderGroup(c, fiber.StatusOK, n) })
}

// roleName is a group role as the dashboard writes it.
func roleName(role int) string {
	switch role {
	case models.GroupRoleOwner:
		return "owner"
	case models.GroupRoleAdmin:
		return "admin"
	}
	return "member"
}

func displayGroupName(name string) string {
	if name == "" {
		return "(no name)"
	}
	return name
}
