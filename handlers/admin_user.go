package handlers

import (
	"encoding/base64"
	"errors"
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"roster/models"
	"roster/views"
)

// User is GET /admin/users/:id.
func (h *Admin) User(c *fiber.Ctx) error {
	return h.renderUser(c, fiber.StatusOK, nil)
}

// renderUser renders the user's page with a notice; the actions on the
// user answer with it too.
func (h *Admin) renderUser(c *fiber.Ctx, status int, notice *views.Notice) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	det, err := h.dash.UserDetail(c.UserContext(), id)
	if errors.Is(err, models.ErrNotFound) {
		meta := h.meta(c, "users", "No such user")
		meta.Notice = notice
		return Render(c, fiber.StatusNotFound, views.AdminMessage(meta, "No such user", "There is no user with this id; it may have been deleted."))
	}
	if err != nil {
		return err
	}
	now := h.clock.Now()
	u := det.User
	vm := views.UserVM{ID: u.ID, Phone: u.Phone, Name: u.Name, Status: u.Status, State: "active",
		Created: u.CreatedAt, LastSeen: u.LastSeenAt, Discoverable: u.Discoverable, Announce: u.Announce}
	if u.BlockedAt(now) {
		vm.State = "blocked"
		vm.BlockedUntil = "until unblocked"
		if *u.BlockedUntil != models.BlockedForever {
			vm.BlockedUntil = "until " + views.BlockEnd(*u.BlockedUntil)
		}
	}
	if u.CreatedBy != "" {
		vm.CreatedBy = "an administrator (" + u.CreatedBy + ")"
	}
	if u.AwaitingSignIn {
		vm.State = "awaiting-sign-in"
	}
	if u.NumberLost() {
		// Detached from a recycled number: the page names the number it had.
		vm.State, vm.Phone = "number-lost", u.LostPhone
	}
	if u.DeleteAfter != nil {
		vm.State, vm.DeleteAfter = "deletion-pending", u.DeleteAfter
	}
	if isJPEG(u.Thumbnail) {
		// Safe to write as is: base64 of a JPEG that models.StorePhoto made.
		// templ's sanitizer refuses every data: URL, so the view marks it.
		vm.ThumbnailURL = "data:image/jpeg;base64," + u.Thumbnail
	}
	if u.Photo != "" {
		vm.PhotoURL = h.cfg.PhotoURL + url.PathEscape(u.Photo)
	}
	for _, s := range det.Sessions {
		sv := views.SessionVM{ID: s.ID, Device: s.Device, DeviceType: s.DeviceType, IP: s.IP, Country: s.Country, UserAgent: s.UserAgent,
			Created: s.CreatedAt, LastUsed: s.LastUsedAt, State: "active", Reason: s.RevokeReason, Push: pushTokenVM(&s)}
		switch {
		case s.RevokedAt != nil:
			sv.State = "revoked"
		case s.ExpiresAt <= now.UnixMilli():
			sv.State = "expired"
		default:
			vm.LiveSessions++
		}
		vm.Sessions = append(vm.Sessions, sv)
	}
	vm.Codes = codeVMs(det.Codes, map[string]int64{u.Phone: u.ID})
	vm.CodesEmpty = "No code on record for this number: codes are kept " + keptFor(h.cfg.CodesKept) + ", older ones are pruned."
	if err := h.syncSections(c, &vm); err != nil {
		return err
	}
	vm.Activity = auditVMs(det.Activity)
	vm.Numbers = auditVMs(det.Numbers)
	groups, err := h.dash.UserGroups(c.UserContext(), u.ID)
	if err != nil {
		return err
	}
	for _, g := range groups {
		vm.Groups = append(vm.Groups, views.UserGroupVM{ID: g.ID, Name: g.Name, Role: roleName(g.Role), Members: g.Members})
	}
	if notice != nil && c.Method() == fiber.MethodPost {
		notice.Near = userSection(c.Route().Path)
	}
	meta := h.meta(c, "users", u.Phone)
	if notice != nil {
		meta.Notice = notice
	}
	return Render(c, status, views.AdminUser(meta, vm))
}

// syncSections fills the contact-sync and events sections.
func (h *Admin) syncSections(c *fiber.Ctx, vm *views.UserVM) error {
	us, err := h.sync.UserSync(c.UserContext(), vm.ID, userPageLinks)
	if err != nil {
		return err
	}
	vm.Sync = views.SyncVM{LastSync: us.LastSyncAt, NumbersStored: us.NumbersStored,
		Matched: userLinks(us.Matched), HaveThisUser: userLinks(us.HaveThisUser),
		MatchedCount: us.MatchedCount, HaveCount: us.HaveCount, CountCap: models.LinkCountCap}
	for _, r := range us.Recent {
		vm.Sync.Recent = append(vm.Sync.Recent, views.SyncRunVM{At: r.At, Sent: r.Sent, New: r.New, Matched: r.Matched, DurationMs: r.DurationMs})
	}
	evs, err := h.sync.EventsAbout(c.UserContext(), vm.ID, 50)
	if err != nil {
		return err
	}
	for _, e := range evs {
		vm.Events.Rows = append(vm.Events.Rows, views.EventVM{At: e.At, Type: e.Type, Recipients: e.Recipients})
	}
	return nil
}

// userPageLinks is how many matched users and holders the user page shows;
// "show all" pages through the rest.
const userPageLinks = 10

// UserContacts is GET /admin/users/:id/matched and /admin/users/:id/have:
// a user's whole contact graph, one direction, in keyset pages.
func (h *Admin) UserContacts(which string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := userID(c)
		if err != nil {
			return err
		}
		u, err := h.dash.UserByID(c.UserContext(), id)
		if errors.Is(err, models.ErrNotFound) {
			return fiber.ErrNotFound
		}
		if err != nil {
			return err
		}
		after, _ := strconv.ParseInt(c.Query("after"), 10, 64)
		rows, next, err := h.sync.UserLinks(c.UserContext(), id, which, max(after, 0), 50)
		if err != nil {
			return err
		}
		count, err := h.sync.LinkCount(c.UserContext(), id, which)
		if err != nil {
			return err
		}
		vm := views.UserContactsVM{UserID: id, Phone: u.Phone, Which: which, Rows: userLinks(rows), CountCap: models.LinkCountCap,
			Count: count, Paged: after > 0}
		path := views.PathUserMatched
		if which == models.LinksHaveThisUser {
			path = views.PathUserHave
		}
		if next != 0 {
			vm.NextURL = views.AdminURL(path, id) + "?" + url.Values{"after": {strconv.FormatInt(next, 10)}}.Encode()
		}
		vm.FirstURL = views.AdminURL(path, id)
		return Render(c, fiber.StatusOK, views.AdminUserContacts(h.meta(c, "users", u.Phone), vm))
	}
}

func userLinks(us []models.UserRef) []views.UserLinkVM {
	out := make([]views.UserLinkVM, len(us))
	for i, u := range us {
		out[i] = views.UserLinkVM{ID: u.ID, Phone: u.Phone, Name: u.Name}
	}
	return out
}

// isJPEG keeps a stored thumbnail that is not the base64 of a JPEG out of
// the data: URL (the view trusts that URL, past templ's sanitizer).
func isJPEG(s string) bool {
	b, err := base64.StdEncoding.DecodeString(s)
	return err == nil && len(b) > 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF
}

// pushTokenVM shows a session's push token masked: enough to tell two
// devices apart, not enough to send to one.
func pushTokenVM(s *models.Session) views.PushTokenVM {
	provider, token := models.PushRoute(s.NotifyToken, s.FcmID)
	vm := views.PushTokenVM{Provider: provider, Disabled: s.PushDisabled, Result: s.PushResult, ResultAt: s.PushResultAt}
	if r := []rune(token); len(r) > 12 {
		vm.Masked = string(r[:4]) + "…" + string(r[len(r)-4:])
	} else if token != "" {
		vm.Masked = "…"
	}
	return vm
}

// userSection is the section of the user page that an action's form is in
// (its data-testid), where the action's result is shown.
func userSection(route string) string {
	switch route {
	case views.AdminURL(views.PathUserRevokeSession), views.AdminURL(views.PathUserRevokeAll):
		return "sessions"
	case views.AdminURL(views.PathUserResend), views.AdminURL(views.PathUserUnlock):
		return "codes"
	case views.AdminURL(views.PathUserBlock), views.AdminURL(views.PathUserUnblock), views.AdminURL(views.PathUserModerate),
		views.AdminURL(views.PathUserDelete), views.AdminURL(views.PathUserProfile), views.AdminURL(views.PathUserCancelDeletion):
		return "moderation"
	}
	return ""
}
