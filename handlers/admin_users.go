package handlers

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"roster/models"
	"roster/views"
)

// usersFilter reads the user list's filter from the query string, the one
// place it is parsed: unknown states and sorts fall back to the defaults,
// a day count out of 1..3650 is dropped, and the search text is understood
// as a number, a number prefix or a name. It returns the filter as the page
// shows it and as the query runs it.
func (h *Admin) usersFilter(c *fiber.Ctx) (views.UsersFilter, models.UserFilter) {
	v := views.UsersFilter{Q: strings.TrimSpace(c.Query("q")), State: c.Query("state"), InactiveDays: c.Query("inactive"),
		NeverVerified: c.Query("unverified") == "1", Sort: c.Query("sort"), After: c.Query("after")}
	if v.State != "active" && v.State != "blocked" {
		v.State = ""
	}
	if v.Sort != "created" {
		v.Sort = "seen"
	}
	f := models.UserFilter{Search: models.ParseUserSearch(v.Q, h.cfg.Region), State: v.State,
		NeverVerified: v.NeverVerified, Sort: v.Sort, After: v.After}
	if n, err := strconv.Atoi(v.InactiveDays); err == nil && n > 0 && n <= 3650 {
		f.InactiveDays = n
	} else {
		v.InactiveDays = ""
	}
	return v, f
}

// Users is GET /admin/users.
func (h *Admin) Users(c *fiber.Ctx) error {
	return h.renderUsers(c, fiber.StatusOK)
}

func (h *Admin) renderUsers(c *fiber.Ctx, status int) error {
	filter, f := h.usersFilter(c)
	meta := h.meta(c, "users", "Users")
	page, err := h.dash.ListUsers(c.UserContext(), f)
	if errors.Is(err, models.ErrBadCursor) {
		filter.After, f.After = "", ""
		meta.Notice = fail("The page link was not valid; showing the first page.")
		page, err = h.dash.ListUsers(c.UserContext(), f)
	}
	if err != nil {
		return err
	}
	ids := make([]int64, len(page.Rows))
	for i := range page.Rows {
		ids[i] = page.Rows[i].ID
	}
	sums, err := h.sync.Summaries(c.UserContext(), ids)
	if err != nil {
		return err
	}
	vm := views.UsersVM{UsersFilter: filter}
	switch f.Search.Mode {
	case models.SearchPhone:
		if f.Search.Exact {
			vm.SearchNote = "Phone number " + f.Search.Prefix
		} else {
			vm.SearchNote = "Phone numbers starting " + f.Search.Prefix
		}
	case models.SearchName:
		vm.SearchNote = "Names starting “" + f.Search.Prefix + "”, in name order"
	}
	now := h.clock.Now()
	for _, r := range page.Rows {
		state := "active"
		if r.BlockedAt(now) {
			state = "blocked"
		}
		sum := sums[r.ID] // a user who never synced has none: 0 contacts, never synced
		vm.Rows = append(vm.Rows, views.UserRowVM{ID: r.ID, Phone: r.Phone, Name: r.Name, State: state,
			Devices: r.Devices, LastSeen: r.LastSeenAt, Created: r.CreatedAt, Contacts: sum.Contacts, LastSyncAt: sum.LastSyncAt})
	}
	if page.Scanned > 0 {
		vm.ScanNote = fmt.Sprintf("This page looked at %s users and found %d matching; the next page looks further.", views.Num(int64(page.Scanned)), len(page.Rows))
	}
	if page.Next != "" {
		next := filter
		next.After = page.Next
		vm.NextURL = next.URL()
	}
	if filter.After != "" {
		first := filter
		first.After = ""
		vm.FirstURL = first.URL()
	}
	return Render(c, status, views.AdminUsers(meta, vm))
}
