package handlers

import (
	"encoding/csv"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"roster/models"
	"roster/views"
)

// auditFilter reads the audit log's filter from the query string, the one
// place it is parsed: the phone in any format (a text that is no number
// matches nothing and says so), the actor and event type as typed, dates
// YYYY-MM-DD (others are dropped with a notice; "to" includes its whole
// day). It returns the filter as the page shows it and as the query runs
// it, and the notice, if any.
func (h *Admin) auditFilter(c *fiber.Ctx) (views.AuditFilter, models.AuditFilter, *views.Notice) {
	v := views.AuditFilter{Phone: strings.TrimSpace(c.Query("phone")), Actor: strings.TrimSpace(c.Query("actor")),
		Type: strings.TrimSpace(c.Query("type"))}
	f := models.AuditFilter{Actor: v.Actor, Type: v.Type}
	var notice *views.Notice
	if v.Phone != "" {
		if p, err := models.ParseDashboardPhone(v.Phone, h.cfg.Region); err == nil {
			f.Phone = p.E164
		} else {
			f.Phone = v.Phone
			notice = fail("“" + v.Phone + "” is not a phone number; it matches nothing.")
		}
	}
	var dayNotice *views.Notice
	v.From, v.To, f.From, f.To, dayNotice = dayRange(c)
	if dayNotice != nil {
		notice = alsoNotice(notice, dayNotice.Text)
	}
	if before, err := strconv.ParseInt(c.Query("before"), 10, 64); err == nil && before > 0 {
		v.Before, f.Before = before, before
	}
	return v, f, notice
}

// alsoNotice adds a sentence to a failure notice (nil: a new one), so that
// each part of a filter that was not understood is named.
func alsoNotice(n *views.Notice, text string) *views.Notice {
	if n == nil {
		return fail(text)
	}
	return fail(n.Text + " " + text)
}

// dayRange reads a list's date range, from and to as YYYY-MM-DD (UTC
// days): the days as the page shows them and as milliseconds, from
// inclusive, to exclusive (the whole "to" day). A date written otherwise is
// dropped with a notice.
func dayRange(c *fiber.Ctx) (from, to string, fromMs, toMs int64, notice *views.Notice) {
	from, to, fromMs, toMs, bad := dayRangeOf(c, "from", "to")
	if bad != "" {
		notice = fail("Dates must be written YYYY-MM-DD; “" + bad + "” was ignored.")
	}
	return from, to, fromMs, toMs, notice
}

// dayRangeOf is dayRange with the range in the query keys fromKey and
// toKey; bad is the last value it could not read ("" when none).
func dayRangeOf(c *fiber.Ctx, fromKey, toKey string) (from, to string, fromMs, toMs int64, bad string) {
	for _, k := range []string{fromKey, toKey} {
		s := strings.TrimSpace(c.Query(k))
		if s == "" {
			continue
		}
		d, err := time.Parse("2006-01-02", s)
		if err != nil {
			bad = s
			continue
		}
		if k == fromKey {
			from, fromMs = s, d.UnixMilli()
		} else {
			to, toMs = s, d.AddDate(0, 0, 1).UnixMilli()
		}
	}
	return from, to, fromMs, toMs, bad
}

// Audit is GET /admin/audit.
func (h *Admin) Audit(c *fiber.Ctx) error {
	filter, f, notice := h.auditFilter(c)
	entries, next, err := h.dash.Audit(c.UserContext(), f)
	if err != nil {
		return err
	}
	types, err := h.dash.AuditTypes(c.UserContext())
	if err != nil {
		return err
	}
	if f.Type != "" && !slices.Contains(types, f.Type) {
		notice = alsoNotice(notice, "The log has no event type “"+f.Type+"”; it matches nothing.")
	}
	vm := views.AuditPageVM{AuditFilter: filter, Types: types, Entries: auditVMs(entries)}
	if f.Phone != "" || f.Actor != "" || f.Type != "" || f.From > 0 || f.To > 0 {
		// Each filter has an index of its own; the whole log is not counted.
		total, err := h.dash.CountAudit(c.UserContext(), f)
		if err != nil {
			return err
		}
		vm.Total = &total
	}
	if next > 0 {
		older := filter
		older.Before = next
		vm.NextURL = older.URL(views.PathAudit)
	}
	meta := h.meta(c, "audit", "Audit log")
	meta.Notice = notice
	return Render(c, fiber.StatusOK, views.AdminAudit(meta, vm))
}

// AuditCSV is GET /admin/audit.csv: the filtered log as CSV, for operators
// and owners, audited with its filter and row count as the users export is
// (UsersCSV).
func (h *Admin) AuditCSV(c *fiber.Ctx) error {
	if refused := h.refuseExport(c); refused != nil {
		return refused()
	}
	v, f, _ := h.auditFilter(c)
	f.Before, v.Before = 0, 0 // the export is the whole filtered log, not one page of it
	n := 0
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="roster-audit.csv"`)
	w := csv.NewWriter(c.Response().BodyWriter())
	if err := w.Write([]string{"id", "time_utc", "actor", "type", "phone", "user_id", "ip", "user_agent", "detail"}); err != nil {
		return err
	}
	err := h.dash.EachAudit(c.UserContext(), f, func(e models.AuditEntry) error {
		uid := ""
		if e.UserID != nil {
			uid = strconv.FormatInt(*e.UserID, 10)
		}
		n++
		return w.Write([]string{strconv.FormatInt(e.ID, 10), time.UnixMilli(e.At).UTC().Format(time.RFC3339Nano),
			csvCell(e.Actor), csvCell(e.Type), csvCell(e.Phone), uid, csvCell(e.IP), csvCell(e.UserAgent), csvCell(auditDetail(e))})
	})
	if err != nil {
		return err
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return h.actions.AuditAdmin(c.UserContext(), adminOf(c), models.EventAdminExportAudit, "", adminClient(c),
		"audit log CSV, filter "+exportFilter(v.CSVURL())+", "+views.Plural(n, "row", "rows"))
}

// csvCell defuses spreadsheet formulas (CSV injection): a cell that starts
// with = + - @ or a control character gets a leading apostrophe. E.164
// numbers ("+" and digits only) are left as they are.
func csvCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '-', '@', '\t', '\r':
		return "'" + s
	case '+':
		if _, err := strconv.ParseUint(s[1:], 10, 64); err == nil {
			return s
		}
		return "'" + s
	}
	return s
}
