package handlers

import (
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

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
	var ignored []string
	if f.Sort != "" && f.Sort != "name" && f.Sort != "changed" {
		ignored = append(ignored, "sort=“"+shortText(f.Sort)+"” (changed or name; sorted by last change)")
	}
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
	meta := h.meta(c, "groups", "Groups")
	if n := ignoredNotice(ignored, nil); n != nil && meta.Notice == nil {
		meta.Notice = n
	}
	return Render(c, status, views.AdminGroups(meta, vm))
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
	return h.renderGroupByID(c, gid, status, notice)
}

func (h *Admin) renderGroupByID(c *fiber.Ctx, gid int64, status int, notice *views.Notice) error {
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
		return h.refuseRecheck(c, err, func() error { return h.renderGroup(c, fiber.StatusForbidden, fail(wrongRecheck(c))) })
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

// groupRefusal is a refused dashboard change of a group as a notice ("" if
// err is not a refusal).
func groupRefusal(err error) string {
	var ge *models.GroupError
	if errors.As(err, &ge) {
		return ge.Message + " Nothing was changed."
	}
	return ""
}

// dashboardNumbers reads a comma-separated list of numbers typed on the
// dashboard, in the owner's country when national; the refusal names the
// ones that are not numbers.
func (h *Admin) dashboardNumbers(raw, ownerPhone string) ([]string, string) {
	numbers, bad := h.groups.ParseNumbers(&models.User{Phone: ownerPhone}, models.SplitList(raw))
	if len(bad) > 0 {
		return nil, "These are not phone numbers: " + strings.Join(bad[:min(len(bad), 20)], ", ") + ". Nothing was changed."
	}
	return numbers, ""
}

// groupName reads a group name typed on the dashboard.
func groupName(raw string) (string, string) {
	if !utf8.ValidString(raw) || utf8.RuneCountInString(raw) > models.MaxNameLen {
		return "", "A group's name is at most " + strconv.Itoa(models.MaxNameLen) + " characters. Nothing was changed."
	}
	return raw, ""
}

// CreateGroup is POST /admin/groups: an owner (a user's number), a name
// and members.
func (h *Admin) CreateGroup(c *fiber.Ctx) error {
	refuse := func(msg string) error {
		c.Locals(localNotice, fail(msg))
		return h.renderGroups(c, fiber.StatusBadRequest)
	}
	p, err := models.ParseDashboardPhone(c.FormValue("owner"), h.cfg.Region)
	if err != nil {
		return refuse("The owner's number is not a phone number. Nothing was created.")
	}
	name, msg := groupName(c.FormValue("name"))
	if msg != "" {
		return refuse(msg)
	}
	numbers, msg := h.dashboardNumbers(c.FormValue("members"), p.E164)
	if msg != "" {
		return refuse(msg)
	}
	v, err := h.groups.AdminCreate(c.UserContext(), p.E164, name, numbers, adminOf(c), adminClient(c))
	if errors.Is(err, models.ErrNotFound) {
		return refuse("No user has the number " + p.E164 + ". Nothing was created.")
	}
	if msg := groupRefusal(err); msg != "" {
		return refuse(msg)
	}
	if err != nil {
		return err
	}
	n := ok("Group " + displayGroupName(v.Name) + " created" + refusedNote(v) + ".")
	return h.done(c, views.GroupURL(v.ID), n, func() error { return h.renderGroupByID(c, v.ID, fiber.StatusOK, n) })
}

// refusedNote names the people left out of a group change.
func refusedNote(v *models.GroupView) string {
	if len(v.Refused) == 0 {
		return ""
	}
	return "; left out (in too many groups, or their setting does not allow it): " + strings.Join(v.Refused, ", ")
}

// RenameGroup is POST /admin/groups/:id/rename.
func (h *Admin) RenameGroup(c *fiber.Ctx) error {
	gid, err := userID(c)
	if err != nil {
		return err
	}
	name, msg := groupName(c.FormValue("name"))
	if msg != "" {
		return h.renderGroup(c, fiber.StatusBadRequest, fail(msg))
	}
	_, err = h.groups.AdminRename(c.UserContext(), gid, name, adminOf(c), adminClient(c))
	return h.groupChanged(c, gid, err, "Group renamed.")
}

// GroupMembers is POST /admin/groups/:id/members: numbers to add, or to
// remove with remove=1.
func (h *Admin) GroupMembers(c *fiber.Ctx) error {
	gid, det, numbers, msg, answered := h.groupFormNumbers(c)
	if det == nil {
		return answered
	}
	if msg == "" && len(numbers) == 0 {
		msg = "Type one number or more."
	}
	if msg != "" {
		return h.renderGroup(c, fiber.StatusBadRequest, fail(msg))
	}
	remove := c.FormValue("remove") == "1"
	v, err := h.groups.AdminEditMembers(c.UserContext(), gid, numbers, remove, adminOf(c), adminClient(c))
	text := "Members added"
	if remove {
		text = "Members removed"
	}
	if err == nil {
		text += refusedNote(v)
	}
	return h.groupChanged(c, gid, err, text+".")
}

// GroupRole is POST /admin/groups/:id/role: the member of number m made an
// admin (admin=1) or a member again (admin=0).
func (h *Admin) GroupRole(c *fiber.Ctx) error {
	gid, det, numbers, msg, answered := h.groupFormNumbers(c)
	if det == nil {
		return answered
	}
	admin := c.FormValue("admin")
	switch {
	case msg != "":
	case len(numbers) != 1:
		msg = "Name one member."
	case !slices.ContainsFunc(det.Members, func(m models.GroupMember) bool { return m.Phone == numbers[0] }):
		msg = "That number is not a member of this group."
	case admin != "0" && admin != "1":
		msg = "Choose admin or member."
	}
	if msg != "" {
		return h.renderGroup(c, fiber.StatusBadRequest, fail(msg))
	}
	_, err := h.groups.AdminSetRole(c.UserContext(), gid, numbers, admin == "1", adminOf(c), adminClient(c))
	text := "Made a member."
	if admin == "1" {
		text = "Made an admin."
	}
	return h.groupChanged(c, gid, err, text)
}

// groupFormNumbers reads a group form's group and the numbers of its
// field m (national numbers in the owner's country), with the message
// that refuses them ("" when they read). det is nil when the request is
// answered already (answered: a bad id, or the group is gone).
func (h *Admin) groupFormNumbers(c *fiber.Ctx) (gid int64, det *models.GroupDetail, numbers []string, msg string, answered error) {
	gid, err := userID(c)
	if err != nil {
		return 0, nil, nil, "", err
	}
	det, err = h.dash.GroupDetail(c.UserContext(), gid)
	if err != nil || len(det.Members) == 0 {
		return 0, nil, nil, "", h.renderGroup(c, fiber.StatusNotFound, fail("This group no longer exists."))
	}
	numbers, msg = h.dashboardNumbers(c.FormValue("m"), det.Members[0].Phone)
	return gid, det, numbers, msg, nil
}

// groupChanged answers a dashboard change of a group: the page with a
// notice of what happened.
func (h *Admin) groupChanged(c *fiber.Ctx, gid int64, err error, text string) error {
	if errors.Is(err, models.ErrNotFound) {
		return h.renderGroup(c, fiber.StatusNotFound, fail("This group no longer exists."))
	}
	if msg := groupRefusal(err); msg != "" {
		return h.renderGroup(c, fiber.StatusBadRequest, fail(msg))
	}
	if err != nil {
		return err
	}
	n := ok(text)
	return h.done(c, views.GroupURL(gid), n, func() error { return h.renderGroup(c, fiber.StatusOK, n) })
}
