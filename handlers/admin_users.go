package handlers

import (
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"roster/models"
	"roster/views"
)

// usersFilter reads the user list's filter from the query string, the one
// place it is parsed: unknown states and sorts fall back to the defaults,
// a day count out of 1..3650 is dropped, and the search text is understood
// as a number, a number prefix or a name. It returns the filter as the page
// shows it and as the query runs it, and the values it ignored, for the
// page to say so.
func (h *Admin) usersFilter(c *fiber.Ctx) (views.UsersFilter, models.UserFilter, []string) {
	var ignored []string
	ignore := func(key, why string) {
		if raw := c.Query(key); raw != "" {
			ignored = append(ignored, key+"=“"+shortText(raw)+"” ("+why+")")
		}
	}
	v := views.UsersFilter{Q: strings.TrimSpace(c.Query("q")), State: c.Query("state"), InactiveDays: c.Query("inactive"), ActiveDays: c.Query("active"),
		NeverVerified: c.Query("unverified") == "1", Sort: c.Query("sort"), Order: c.Query("order"), Size: c.Query("size"),
		After: c.Query("after"), Before: c.Query("before")}
	if v.State != "active" && v.State != "blocked" && v.State != "lost" && v.State != "pending" {
		ignore("state", "active, blocked, lost or pending")
		v.State = ""
	}
	switch v.Sort {
	case "created", "phone", "name", "seen":
	default:
		ignore("sort", "seen, created, phone or name")
		v.Sort = "seen"
	}
	if v.Order != "asc" && v.Order != "desc" {
		ignore("order", "asc or desc")
		v.Order = ""
	}
	if v.After != "" {
		v.Before = ""
	}
	v.Last = c.Query("page") == "last" && v.After == "" && v.Before == ""
	if !slices.Contains(views.PageSizes(), v.Size) {
		ignore("size", strings.Join(views.PageSizes(), ", "))
	}
	if !slices.Contains(views.PageSizes(), v.Size) || v.Size == "50" {
		v.Size = ""
	}
	f := models.UserFilter{Search: models.ParseUserSearch(v.Q, h.cfg.Region), State: v.State,
		NeverVerified: v.NeverVerified, Sort: v.Sort, Desc: v.Descending(), After: v.After, Before: v.Before, Last: v.Last}
	f.Limit, _ = strconv.Atoi(v.Size) // "": the model's default
	if n, err := strconv.Atoi(v.InactiveDays); err == nil && n > 0 && n <= 3650 {
		f.InactiveDays = n
	} else {
		ignore("inactive", "1 to 3650 days")
		v.InactiveDays = ""
	}
	if n, err := strconv.Atoi(v.ActiveDays); err == nil && n > 0 && n <= 3650 {
		f.ActiveDays = n
	} else {
		ignore("active", "1 to 3650 days")
		v.ActiveDays = ""
	}
	for _, r := range []struct {
		from, to     string
		fromV, toV   *string
		fromMs, toMs *int64
	}{
		{"created_from", "created_to", &v.CreatedFrom, &v.CreatedTo, &f.CreatedFrom, &f.CreatedTo},
		{"seen_from", "seen_to", &v.SeenFrom, &v.SeenTo, &f.SeenFrom, &f.SeenTo},
	} {
		*r.fromV, *r.toV, *r.fromMs, *r.toMs, _ = dayRangeOf(c, r.from, r.to)
		if *r.fromV == "" {
			ignore(r.from, "a date YYYY-MM-DD")
		}
		if *r.toV == "" {
			ignore(r.to, "a date YYYY-MM-DD")
		}
	}
	return v, f, ignored
}

// shortText is a value the page quotes back, cut to 40 characters.
func shortText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// Users is GET /admin/users.
func (h *Admin) Users(c *fiber.Ctx) error {
	return h.renderUsers(c, fiber.StatusOK)
}

func (h *Admin) renderUsers(c *fiber.Ctx, status int) error {
	return h.renderUsersWith(c, status, nil)
}

// renderUsersWith is renderUsers with the view model changed by edit (nil:
// as it is) before it is rendered.
func (h *Admin) renderUsersWith(c *fiber.Ctx, status int, edit func(*views.UsersVM)) error {
	filter, f, ignored := h.usersFilter(c)
	meta := h.meta(c, "users", "Users")
	if len(ignored) > 0 && meta.Notice == nil {
		meta.Notice = fail("Ignored: " + strings.Join(ignored, "; ") + ".")
	}
	page, err := h.dash.ListUsers(c.UserContext(), f)
	if errors.Is(err, models.ErrBadCursor) {
		filter.After, f.After, filter.Before, f.Before = "", "", "", ""
		meta.Notice = fail("The page link was not valid; showing the first page.")
		page, err = h.dash.ListUsers(c.UserContext(), f)
	}
	if err != nil {
		return err
	}
	total, err := h.dash.CountUsers(c.UserContext(), f)
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
	vm := views.UsersVM{UsersFilter: filter, Total: totalText(total), Sortable: f.Search.Mode == models.SearchAll}
	switch f.Search.Mode {
	case models.SearchPhone:
		if f.Search.Exact {
			vm.SearchNote = "Phone number " + f.Search.Prefix
		} else {
			vm.SearchNote = "Phone numbers starting " + f.Search.Prefix + ", highest first"
			if !f.Desc {
				vm.SearchNote = "Phone numbers starting " + f.Search.Prefix + ", lowest first"
			}
		}
	case models.SearchName:
		if len([]rune(models.FoldName(f.Search.Prefix))) < 3 {
			vm.SearchNote = "Names starting “" + f.Search.Prefix + "”, in name order (type three letters or more to search inside names)"
		} else {
			vm.SearchNote = "Names containing “" + f.Search.Prefix + "” (any case and accents), in sign-up order"
		}
	}
	now := h.clock.Now()
	for _, r := range page.Rows {
		state := "active"
		if r.BlockedAt(now) {
			state = "blocked"
		}
		phone := r.Phone
		if r.NumberLost() {
			state, phone = "number-lost", r.LostPhone // the number it had
		}
		if r.AwaitingSignIn {
			state = "awaiting-sign-in"
		}
		if r.DeleteAfter != nil {
			state = "deletion-pending"
		}
		sum := sums[r.ID] // a user who never synced has none: 0 contacts, never synced
		vm.Rows = append(vm.Rows, views.UserRowVM{ID: r.ID, Phone: phone, Name: r.Name, State: state,
			Devices: r.Devices, LastSeen: r.LastSeenAt, Created: r.CreatedAt, Contacts: sum.Contacts, LastSyncAt: sum.LastSyncAt})
	}
	if page.Scanned > 0 {
		vm.ScanNote = fmt.Sprintf("This page looked at %s users and found %d matching; the next page looks further.", views.Num(int64(page.Scanned)), len(page.Rows))
	}
	pages := filter
	pages.Last = false
	if page.Next != "" {
		next := pages
		next.After, next.Before = page.Next, ""
		vm.NextURL = next.URL()
		// A search inside names walks its trigram index, forward only.
		if !(f.Search.Mode == models.SearchName && len([]rune(models.FoldName(f.Search.Prefix))) >= 3) {
			last := pages
			last.After, last.Before, last.Last = "", "", true
			vm.LastURL = last.URL()
		}
	}
	if page.Prev != "" {
		prev := pages
		prev.After, prev.Before = "", page.Prev
		vm.PrevURL = prev.URL()
	}
	if filter.After != "" || filter.Before != "" || filter.Last {
		first := pages
		first.After, first.Before = "", ""
		vm.FirstURL = first.URL()
	}
	if edit != nil {
		edit(&vm)
	}
	return Render(c, status, views.AdminUsers(meta, vm))
}

// totalText is the list's total as the page writes it: exact, "more than
// 10,000", or, for a filter counted on a bounded scan, "at least".
func totalText(t models.UserTotal) string {
	n := views.Num(t.N)
	switch {
	case t.More:
		return "more than " + n + " users"
	case t.Scanned > 0 && t.N == int64(t.Scanned):
		return "at least " + n + " users"
	case t.Scanned > 0:
		return "at least " + n + " users (counted among the first " + views.Num(int64(t.Scanned)) + ")"
	case t.N == 1:
		return "1 user"
	}
	return n + " users"
}

// csvExportCap bounds one export: the whole filter up to this many users.
const csvExportCap = 1_000_000

// UsersCSV is GET /admin/users.csv: the current filter, every page of it,
// as CSV (the list's own keyset walk, page after page), for operators and
// owners (refuseExport). The export is audited with its filter and row
// count once written: the body is sent only after the handler returns, and
// an error then (the audit insert's too) sends an error page instead.
func (h *Admin) UsersCSV(c *fiber.Ctx) error {
	if refused := h.refuseExport(c); refused != nil {
		return refused()
	}
	v, f, _ := h.usersFilter(c)
	f.After, f.Before, f.Last, f.Limit = "", "", false, 200
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="roster-users.csv"`)
	w := csv.NewWriter(c.Response().BodyWriter())
	if err := w.Write([]string{"id", "phone", "name", "status", "state", "created_utc", "last_seen_utc", "live_devices"}); err != nil {
		return err
	}
	now := h.clock.Now()
	stamp := func(ms *int64) string {
		if ms == nil || *ms == 0 {
			return ""
		}
		return time.UnixMilli(*ms).UTC().Format(time.RFC3339)
	}
	n := 0
	for n < csvExportCap {
		page, err := h.dash.ListUsers(c.UserContext(), f)
		if err != nil {
			return err
		}
		for _, r := range page.Rows {
			state := "active"
			if r.BlockedAt(now) {
				state = "blocked"
			}
			if r.AwaitingSignIn {
				state = "awaiting-sign-in"
			}
			if err := w.Write([]string{strconv.FormatInt(r.ID, 10), csvCell(r.Phone), csvCell(r.Name), csvCell(r.Status), state,
				stamp(&r.CreatedAt), stamp(r.LastSeenAt), strconv.Itoa(r.Devices)}); err != nil {
				return err
			}
		}
		n += len(page.Rows)
		if page.Next == "" {
			break
		}
		f.After = page.Next
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return h.actions.AuditAdmin(c.UserContext(), adminOf(c), models.EventAdminExportUsers, "", adminClient(c),
		"users CSV, filter "+exportFilter(v.CSVURL())+", "+views.Plural(n, "row", "rows"))
}

// exportFilter is the query string of an export's URL, as its audit entry
// names the filter ("none" for the whole list).
func exportFilter(url string) string {
	if _, q, ok := strings.Cut(url, "?"); ok {
		return "?" + q
	}
	return "none"
}

// refuseExport refuses a viewer an export: exports hold every phone number,
// IP address and user agent of what they list. It returns how to answer, or
// nil for operators and owners.
func (h *Admin) refuseExport(c *fiber.Ctx) func() error {
	if adminOf(c).CanWrite() {
		return nil
	}
	return func() error {
		return h.refuse(c, fiber.StatusForbidden, "Exports hold every phone number, IP address and user agent: only operators and owners download them.")
	}
}
