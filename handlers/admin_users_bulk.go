package handlers

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"roster/models"
	"roster/views"
)

// maxBulk bounds the users one bulk action changes (a page is at most 200).
const maxBulk = 200

// bulkIDs reads the selected users (repeated "id" fields of the body).
func bulkIDs(c *fiber.Ctx) ([]int64, bool) {
	var ids []int64
	seen := map[int64]bool{}
	for _, v := range c.Request().PostArgs().PeekMulti("id") {
		id, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil || id <= 0 {
			return nil, false
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, len(ids) <= maxBulk
}

// BulkUsers is POST /admin/users/bulk (password re-check): revoke the
// sessions of, block or delete the users selected on the list; one audit
// entry per user, as if each was done from their page. The answer is the
// list with the same filter (the form posts to it with the list's query).
func (h *Admin) BulkUsers(c *fiber.Ctx) error {
	page := func(status int, n *views.Notice) error {
		c.Locals(localNotice, n)
		return h.renderUsers(c, status)
	}
	ids, okIDs := bulkIDs(c)
	action := c.FormValue("action")
	switch {
	case !okIDs:
		return page(fiber.StatusBadRequest, fail("Select at most "+strconv.Itoa(maxBulk)+" users: nothing was changed."))
	case len(ids) == 0:
		return page(fiber.StatusBadRequest, fail("Select users first: nothing was changed."))
	case action != "revoke" && action != "block" && action != "delete":
		return page(fiber.StatusBadRequest, fail("Choose an action: nothing was changed."))
	case action == "delete" && strings.TrimSpace(c.FormValue("confirm")) != strconv.Itoa(len(ids)):
		return page(fiber.StatusBadRequest, fail("Type the number of selected users ("+strconv.Itoa(len(ids))+") to confirm deleting them: nothing was deleted."))
	}
	var until int64
	if action == "block" {
		var refusal string
		if until, refusal = h.blockUntil(c); refusal != "" {
			return page(fiber.StatusBadRequest, fail(refusal))
		}
	}
	if err := h.recheck(c); err != nil {
		return h.refuseRecheck(c, err, func() error { return page(fiber.StatusForbidden, fail(wrongRecheck(c))) })
	}
	ctx, actor, cl := c.UserContext(), adminOf(c), adminClient(c)
	done, sessions, missing := 0, 0, 0
	for _, id := range ids {
		var n int
		var err error
		switch action {
		case "revoke":
			n, err = h.sessions.RevokeAllForUser(ctx, id, actor.Actor(), cl)
		case "block":
			n, err = h.actions.BlockUser(ctx, id, until, actor.Actor(), cl)
		case "delete":
			_, err = h.actions.DeleteUser(ctx, id, actor.Actor(), cl)
		}
		if errors.Is(err, models.ErrNotFound) {
			missing++
			continue
		}
		if err != nil {
			return err
		}
		done++
		sessions += n
	}
	users := views.Plural(done, "user", "users")
	var text string
	switch action {
	case "revoke":
		text = "Signed out " + users + " everywhere; " + views.Plural(sessions, "session", "sessions") + " revoked."
	case "block":
		text = "Blocked " + users + "; " + views.Plural(sessions, "session", "sessions") + " revoked."
	default:
		text = "Deleted " + users + ", with their photos and address books."
	}
	if missing > 0 {
		text += " " + views.Plural(missing, "user was", "users were") + " already gone."
	}
	n := ok(text)
	if isHTMX(c) {
		return page(fiber.StatusOK, n)
	}
	back := views.AdminURL(views.PathUsers)
	if q := string(c.Request().URI().QueryString()); q != "" {
		back += "?" + q
	}
	return h.done(c, back, n, nil)
}
