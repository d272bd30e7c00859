package handlers

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"roster/models"
	"roster/views"
)

// AdminConfig is what the dashboard shows about the server's configuration.
type AdminConfig struct {
	Region      string // region of national-format numbers typed into searches
	DemoCodeOn  bool
	Console     bool   // the console channel is used: the outbox page is on
	Channel     string // the OTP delivery channel
	CodeTTL     time.Duration
	MaxAttempts int
	PhotoURL    string // prefix of profile photo URLs
	Settings    []views.SettingVM
}

// Admin serves the administrators' dashboard.
type Admin struct {
	admins   *models.Admins
	dash     *models.Dashboard
	actions  *models.UserActions
	sync     *models.ContactSyncReader
	sessions *models.Sessions
	signIn   *models.SignIn
	clock    models.Clock
	cookie   AdminCookie
	cfg      AdminConfig
}

// NewAdmin returns the dashboard handlers.
func NewAdmin(admins *models.Admins, dash *models.Dashboard, actions *models.UserActions, sync *models.ContactSyncReader,
	sessions *models.Sessions, signIn *models.SignIn, clock models.Clock, cookie AdminCookie, cfg AdminConfig) *Admin {
	return &Admin{admins: admins, dash: dash, actions: actions, sync: sync, sessions: sessions, signIn: signIn,
		clock: clock, cookie: cookie, cfg: cfg}
}

func (h *Admin) meta(c *fiber.Ctx, section, title string) views.AdminMeta {
	m := views.AdminMeta{Title: title, Section: section, DemoCodeOn: h.cfg.DemoCodeOn, ShowOutbox: h.cfg.Console, Now: h.clock.Now()}
	if a := adminOf(c); a != nil {
		m.AdminName, m.AdminRole, m.CanWrite = a.Name, a.Role, a.CanWrite()
	}
	if s := adminSessionOf(c); s != nil {
		m.CSRF = s.CSRFToken
	}
	m.Notice, _ = c.Locals(localNotice).(*views.Notice)
	return m
}

const localNotice = "roster.notice"

func ok(text string) *views.Notice   { return &views.Notice{OK: true, Text: text} }
func fail(text string) *views.Notice { return &views.Notice{Text: text} }

// Overview is GET /admin/.
func (h *Admin) Overview(c *fiber.Ctx) error {
	o, err := h.dash.Overview(c.UserContext())
	if err != nil {
		return err
	}
	days := make([]time.Time, len(o.SignUps))
	signUps := make([]int64, len(o.SignUps))
	codes := make([]int64, len(o.Codes))
	for i := range o.SignUps {
		days[i], signUps[i], codes[i] = o.SignUps[i].Day, o.SignUps[i].Count, o.Codes[i].Count
	}
	t := o.Totals
	syncs, err := h.sync.SyncsPerDay(c.UserContext(), days[0], len(days))
	if err != nil {
		return err
	}
	vm := views.OverviewVM{SyncsToday: syncs[len(syncs)-1], Users: t.Users, SeenToday: t.SeenToday, SignedInToday: t.SignedInToday, ActiveTokens: t.ActiveTokens,
		CodesRequested: t.CodesRequested, CodesSent: t.CodesSent, CodesVerified: t.CodesVerified, CodesFailed: t.CodesFailed,
		Charts: []views.Chart{
			views.NewChart("Sign-ups", "chart-signups", days, signUps),
			views.NewChart("Codes requested", "chart-codes", days, codes),
			views.NewChart("Contact syncs", "chart-syncs", days, syncs),
		}}
	return Render(c, fiber.StatusOK, views.AdminOverview(h.meta(c, "overview", "Overview"), vm))
}

// Users is GET /admin/users.
func (h *Admin) Users(c *fiber.Ctx) error {
	return h.renderUsers(c, fiber.StatusOK)
}

func (h *Admin) renderUsers(c *fiber.Ctx, status int) error {
	q := strings.TrimSpace(c.Query("q"))
	f := models.UserFilter{Search: models.ParseUserSearch(q, h.cfg.Region), State: c.Query("state"),
		NeverVerified: c.Query("unverified") == "1", Sort: c.Query("sort"), After: c.Query("after")}
	if f.State != "active" && f.State != "blocked" {
		f.State = ""
	}
	if f.Sort != "created" {
		f.Sort = "seen"
	}
	inactive := c.Query("inactive")
	if n, err := strconv.Atoi(inactive); err == nil && n > 0 && n <= 3650 {
		f.InactiveDays = n
	} else {
		inactive = ""
	}
	meta := h.meta(c, "users", "Users")
	page, err := h.dash.ListUsers(c.UserContext(), f)
	if errors.Is(err, models.ErrBadCursor) {
		f.After = ""
		meta.Notice = fail("The page link was not valid; showing the first page.")
		page, err = h.dash.ListUsers(c.UserContext(), f)
	}
	if err != nil {
		return err
	}
	vm := views.UsersVM{Q: q, State: f.State, InactiveDays: inactive, NeverVerified: f.NeverVerified, Sort: f.Sort}
	ids := make([]int64, len(page.Rows))
	for i := range page.Rows {
		ids[i] = page.Rows[i].ID
	}
	sums, err := h.sync.Summaries(c.UserContext(), ids)
	if err != nil {
		return err
	}
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
		row := views.UserRowVM{ID: r.ID, Phone: r.Phone, Name: r.Name, State: state,
			Devices: r.Devices, LastSeen: r.LastSeenAt, Created: r.CreatedAt}
		sum := sums[r.ID] // a user who never synced has none: 0 contacts, never synced
		row.Contacts, row.LastSyncAt = sum.Contacts, sum.LastSyncAt
		vm.Rows = append(vm.Rows, row)
	}
	base := url.Values{}
	for k, v := range map[string]string{"q": q, "state": f.State, "inactive": inactive, "sort": f.Sort} {
		if v != "" {
			base.Set(k, v)
		}
	}
	if f.NeverVerified {
		base.Set("unverified", "1")
	}
	if page.Scanned > 0 {
		vm.ScanNote = fmt.Sprintf("This page looked at %s users and found %d matching; the next page looks further.", views.Num(int64(page.Scanned)), len(page.Rows))
	}
	if page.Next != "" {
		next := url.Values{}
		for k, v := range base {
			next[k] = v
		}
		next.Set("after", page.Next)
		vm.NextURL = "/admin/users?" + next.Encode()
	}
	if f.After != "" {
		vm.FirstURL = "/admin/users?" + base.Encode()
	}
	return Render(c, status, views.AdminUsers(meta, vm))
}

// User is GET /admin/users/:id.
func (h *Admin) User(c *fiber.Ctx) error {
	return h.renderUser(c, fiber.StatusOK, nil)
}

func userID(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fiber.ErrNotFound
	}
	return id, nil
}

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
			vm.BlockedUntil = "until " + views.Exact(*u.BlockedUntil)
		}
	}
	if u.Thumbnail != "" && isBase64(u.Thumbnail) {
		vm.ThumbnailURL = "data:image/jpeg;base64," + u.Thumbnail
	}
	if u.Photo != "" {
		vm.PhotoURL = h.cfg.PhotoURL + url.PathEscape(u.Photo)
	}
	for _, s := range det.Sessions {
		sv := views.SessionVM{ID: s.ID, Device: s.Device, DeviceType: s.DeviceType, IP: s.IP, UserAgent: s.UserAgent,
			Created: s.CreatedAt, LastUsed: s.LastUsedAt, State: "active", Reason: s.RevokeReason}
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
	if err := h.syncSections(c, &vm); err != nil {
		return err
	}
	vm.Activity = auditVMs(det.Activity)
	meta := h.meta(c, "users", u.Phone)
	if notice != nil {
		meta.Notice = notice
	}
	return Render(c, status, views.AdminUser(meta, vm))
}

// syncSections fills the contact-sync and events sections.
func (h *Admin) syncSections(c *fiber.Ctx, vm *views.UserVM) error {
	us, err := h.sync.UserSync(c.UserContext(), vm.ID, 50)
	if err != nil {
		return err
	}
	vm.Sync = views.SyncVM{LastSync: us.LastSyncAt, NumbersStored: us.NumbersStored,
		Matched: userLinks(us.Matched), HaveThisUser: userLinks(us.HaveThisUser)}
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

func userLinks(us []models.UserRef) []views.UserLinkVM {
	out := make([]views.UserLinkVM, len(us))
	for i, u := range us {
		out[i] = views.UserLinkVM{ID: u.ID, Phone: u.Phone, Name: u.Name}
	}
	return out
}

func isBase64(s string) bool {
	_, err := base64.StdEncoding.DecodeString(s)
	return err == nil
}

func codeVMs(rows []models.CodeRow, users map[string]int64) []views.CodeVM {
	out := make([]views.CodeVM, len(rows))
	for i, r := range rows {
		out[i] = views.CodeVM{ID: r.ID, UserID: users[r.Phone], Phone: r.Phone, State: r.Effective, Attempts: r.Attempts,
			Channel: r.Channel, Delivery: r.Delivery, IP: r.IP, Created: r.CreatedAt}
	}
	return out
}

func auditVMs(es []models.AuditEntry) []views.AuditVM {
	out := make([]views.AuditVM, len(es))
	for i, e := range es {
		out[i] = views.AuditVM{ID: e.ID, At: e.At, Actor: e.Actor, Type: e.Type, Phone: e.Phone, IP: e.IP,
			UserAgent: e.UserAgent, Detail: e.Detail}
		if e.UserID != nil {
			out[i].UserID = *e.UserID
		}
	}
	return out
}

// recheck asks for the admin's password again before a destructive action.
func (h *Admin) recheck(c *fiber.Ctx) error {
	return h.admins.CheckPassword(c.UserContext(), adminOf(c), c.FormValue("password"), adminClient(c))
}

const wrongPassword = "Your password was wrong: nothing was changed."

// RevokeSession is POST /admin/users/:id/sessions/:sid/revoke.
func (h *Admin) RevokeSession(c *fiber.Ctx) error {
	uid, err := userID(c)
	if err != nil {
		return err
	}
	sid, err := strconv.ParseInt(c.Params("sid"), 10, 64)
	if err != nil {
		return fiber.ErrNotFound
	}
	owned, err := h.dash.SessionBelongs(c.UserContext(), uid, sid)
	if err != nil {
		return err
	}
	if !owned {
		return h.renderUser(c, fiber.StatusNotFound, fail("This session does not belong to this user."))
	}
	revoked, err := h.sessions.RevokeSession(c.UserContext(), sid, adminOf(c).Actor(), adminClient(c))
	if err != nil {
		return err
	}
	if !revoked {
		return h.renderUser(c, fiber.StatusConflict, fail("This session was already ended."))
	}
	n := ok("Session revoked: that device must sign in again.")
	return h.done(c, userPage(uid), n, func() error { return h.renderUser(c, fiber.StatusOK, n) })
}

// RevokeAll is POST /admin/users/:id/revoke-all (password re-check).
func (h *Admin) RevokeAll(c *fiber.Ctx) error {
	uid, err := userID(c)
	if err != nil {
		return err
	}
	if err := h.recheck(c); err != nil {
		return h.renderUser(c, fiber.StatusForbidden, fail(wrongPassword))
	}
	n, err := h.sessions.RevokeAllForUser(c.UserContext(), uid, adminOf(c).Actor(), adminClient(c))
	if errors.Is(err, models.ErrNotFound) {
		return h.renderUser(c, fiber.StatusNotFound, nil)
	}
	if err != nil {
		return err
	}
	done := ok(fmt.Sprintf("%d sessions revoked: the user is signed out everywhere.", n))
	return h.done(c, userPage(uid), done, func() error { return h.renderUser(c, fiber.StatusOK, done) })
}

// Block is POST /admin/users/:id/block (password re-check). An empty
// "until" blocks until unblocked; a date blocks until its end (UTC).
func (h *Admin) Block(c *fiber.Ctx) error {
	uid, err := userID(c)
	if err != nil {
		return err
	}
	until := models.BlockedForever
	if s := strings.TrimSpace(c.FormValue("until")); s != "" {
		d, err := time.Parse("2006-01-02", s)
		if err != nil {
			return h.renderUser(c, fiber.StatusBadRequest, fail("The date must be written YYYY-MM-DD."))
		}
		until = d.AddDate(0, 0, 1).UnixMilli()
		if until <= h.clock.Now().UnixMilli() {
			return h.renderUser(c, fiber.StatusBadRequest, fail("The block must end in the future."))
		}
	}
	if err := h.recheck(c); err != nil {
		return h.renderUser(c, fiber.StatusForbidden, fail(wrongPassword))
	}
	n, err := h.actions.BlockUser(c.UserContext(), uid, until, adminOf(c).Actor(), adminClient(c))
	if errors.Is(err, models.ErrNotFound) {
		return h.renderUser(c, fiber.StatusNotFound, nil)
	}
	if err != nil {
		return err
	}
	done := ok(fmt.Sprintf("User blocked; %d sessions revoked.", n))
	return h.done(c, userPage(uid), done, func() error { return h.renderUser(c, fiber.StatusOK, done) })
}

// Unblock is POST /admin/users/:id/unblock.
func (h *Admin) Unblock(c *fiber.Ctx) error {
	uid, err := userID(c)
	if err != nil {
		return err
	}
	err = h.actions.UnblockUser(c.UserContext(), uid, adminOf(c).Actor(), adminClient(c))
	if errors.Is(err, models.ErrNotFound) {
		return h.renderUser(c, fiber.StatusNotFound, nil)
	}
	if err != nil {
		return err
	}
	n := ok("User unblocked: they can sign in again.")
	return h.done(c, userPage(uid), n, func() error { return h.renderUser(c, fiber.StatusOK, n) })
}

// Delete is POST /admin/users/:id/delete: typed confirmation and password.
func (h *Admin) Delete(c *fiber.Ctx) error {
	uid, err := userID(c)
	if err != nil {
		return err
	}
	u, err := h.dash.UserByID(c.UserContext(), uid)
	if errors.Is(err, models.ErrNotFound) {
		return h.renderUser(c, fiber.StatusNotFound, nil)
	}
	if err != nil {
		return err
	}
	if strings.ReplaceAll(strings.TrimSpace(c.FormValue("confirm")), " ", "") != u.Phone {
		return h.renderUser(c, fiber.StatusBadRequest, fail("The typed phone number does not match: nothing was deleted."))
	}
	if err := h.recheck(c); err != nil {
		return h.renderUser(c, fiber.StatusForbidden, fail(wrongPassword))
	}
	if _, err := h.actions.DeleteUser(c.UserContext(), uid, adminOf(c).Actor(), adminClient(c)); err != nil {
		return err
	}
	n := ok("User " + u.Phone + " deleted, with their photo and address book.")
	return h.done(c, "/admin/users", n, func() error {
		c.Locals(localNotice, n)
		return h.renderUsers(c, fiber.StatusOK)
	})
}

func userPage(id int64) string { return "/admin/users/" + strconv.FormatInt(id, 10) }

// ResendUser is POST /admin/users/:id/resend.
func (h *Admin) ResendUser(c *fiber.Ctx) error {
	uid, err := userID(c)
	if err != nil {
		return err
	}
	u, err := h.dash.UserByID(c.UserContext(), uid)
	if errors.Is(err, models.ErrNotFound) {
		return h.renderUser(c, fiber.StatusNotFound, nil)
	}
	if err != nil {
		return err
	}
	status, notice, err := h.resend(c, models.Phone{E164: u.Phone, CountryCode: u.CountryCode})
	if err != nil {
		return err
	}
	if status != fiber.StatusOK {
		return h.renderUser(c, status, notice)
	}
	return h.done(c, userPage(uid), notice, func() error { return h.renderUser(c, status, notice) })
}

// resend asks for a code through the sign-in flow (same quotas as an app),
// as the admin's request, and audits it as an admin action.
func (h *Admin) resend(c *fiber.Ctx, p models.Phone) (int, *views.Notice, error) {
	err := h.signIn.RequestCode(c.UserContext(), p, adminClient(c))
	var refused *models.RefusedError
	detail := "sent via " + h.cfg.Channel
	status, notice := fiber.StatusOK, ok(fmt.Sprintf("Code for %s sent via %s, valid %s, %d tries left.",
		p.E164, h.cfg.Channel, shortDuration(h.cfg.CodeTTL), h.cfg.MaxAttempts))
	switch {
	case errors.As(err, &refused):
		detail = "refused: " + refused.Message
		status, notice = fiber.StatusTooManyRequests, fail("No code sent: "+refused.Message)
	case err != nil:
		return 0, nil, err
	case h.signIn.IsTestNumber(p.E164):
		detail = "test number: fixed code, nothing sent"
		notice = ok("No code sent: " + p.E164 + " is a test number with a fixed code.")
	case h.cfg.DemoCodeOn:
		detail = "demo-code mode: nothing sent"
		notice = ok("No code sent: demo-code mode is on (the fixed demo code works).")
	}
	if err := h.actions.AuditAdmin(c.UserContext(), adminOf(c), models.EventAdminResendCode, p.E164, adminClient(c), detail); err != nil {
		return 0, nil, err
	}
	return status, notice, nil
}

func shortDuration(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.Itoa(int(d/time.Minute)) + " min"
	}
	return d.String()
}

// Codes is GET /admin/codes.
func (h *Admin) Codes(c *fiber.Ctx) error {
	return h.renderCodes(c, fiber.StatusOK, nil, "")
}

func (h *Admin) renderCodes(c *fiber.Ctx, status int, notice *views.Notice, resendPhone string) error {
	q := strings.TrimSpace(c.Query("q"))
	prefix := ""
	if q != "" {
		s := models.ParseUserSearch(q, h.cfg.Region)
		if s.Mode == models.SearchPhone {
			prefix = s.Prefix
		} else {
			prefix = "-" // matches nothing: codes are only looked up by number
		}
	}
	ctx := c.UserContext()
	codes, err := h.dash.RecentCodes(ctx, prefix, 100)
	if err != nil {
		return err
	}
	refused, err := h.dash.RefusedRequests(ctx, 20)
	if err != nil {
		return err
	}
	unv, err := h.dash.UnverifiedSignUps(ctx, 50)
	if err != nil {
		return err
	}
	users, err := h.dash.UserIDsByPhone(ctx, codes)
	if err != nil {
		return err
	}
	vm := views.CodesVM{Q: q, Codes: codeVMs(codes, users), Refused: auditVMs(refused), ResendPhone: resendPhone}
	for _, u := range unv {
		vm.Unverified = append(vm.Unverified, views.UnverifiedVM{Phone: u.Phone, Requests: u.Requests, LastAt: u.LastAt})
	}
	meta := h.meta(c, "codes", "Codes")
	if notice != nil {
		meta.Notice = notice
	}
	return Render(c, status, views.AdminCodes(meta, vm))
}

// ResendCode is POST /admin/codes/resend with a phone number.
func (h *Admin) ResendCode(c *fiber.Ctx) error {
	raw := c.FormValue("phone")
	p, err := models.ParseDashboardPhone(raw, h.cfg.Region)
	if err == nil && !h.signIn.IsTestNumber(p.E164) {
		err = p.CheckValid()
	}
	if err != nil {
		return h.renderCodes(c, fiber.StatusBadRequest, fail("Not a phone number codes can be sent to: "+err.Error()+"."), raw)
	}
	status, notice, err := h.resend(c, p)
	if err != nil {
		return err
	}
	if status != fiber.StatusOK {
		return h.renderCodes(c, status, notice, "")
	}
	return h.done(c, "/admin/codes", notice, func() error { return h.renderCodes(c, status, notice, "") })
}

// Outbox is GET /admin/outbox (console channel only).
func (h *Admin) Outbox(c *fiber.Ctx) error {
	if !h.cfg.Console {
		return fiber.ErrNotFound
	}
	msgs, err := h.dash.Outbox(c.UserContext(), 100)
	if err != nil {
		return err
	}
	var vm views.OutboxVM
	for _, m := range msgs {
		vm.Messages = append(vm.Messages, views.OutboxRowVM{ID: m.ID, Channel: m.Channel, Recipient: m.Recipient, Body: m.Body,
			State: m.State, Attempts: m.Attempts, LastError: m.LastError, Created: m.CreatedAt})
	}
	return Render(c, fiber.StatusOK, views.AdminOutbox(h.meta(c, "outbox", "Outbox"), vm))
}

func (h *Admin) auditFilter(c *fiber.Ctx) (models.AuditFilter, url.Values, *views.Notice) {
	f := models.AuditFilter{Actor: strings.TrimSpace(c.Query("actor")), Type: strings.TrimSpace(c.Query("type"))}
	vals := url.Values{}
	var notice *views.Notice
	if raw := strings.TrimSpace(c.Query("phone")); raw != "" {
		vals.Set("phone", raw)
		if p, err := models.ParseDashboardPhone(raw, h.cfg.Region); err == nil {
			f.Phone = p.E164
		} else {
			f.Phone = raw
			notice = fail("“" + raw + "” is not a phone number; it matches nothing.")
		}
	}
	for k, v := range map[string]string{"actor": f.Actor, "type": f.Type} {
		if v != "" {
			vals.Set(k, v)
		}
	}
	for _, k := range []string{"from", "to"} {
		s := strings.TrimSpace(c.Query(k))
		if s == "" {
			continue
		}
		d, err := time.Parse("2006-01-02", s)
		if err != nil {
			notice = fail("Dates must be written YYYY-MM-DD; “" + s + "” was ignored.")
			continue
		}
		vals.Set(k, s)
		if k == "from" {
			f.From = d.UnixMilli()
		} else {
			f.To = d.AddDate(0, 0, 1).UnixMilli() // the whole "to" day
		}
	}
	return f, vals, notice
}

// Audit is GET /admin/audit.
func (h *Admin) Audit(c *fiber.Ctx) error {
	f, vals, notice := h.auditFilter(c)
	f.Before, _ = strconv.ParseInt(c.Query("before"), 10, 64)
	entries, next, err := h.dash.Audit(c.UserContext(), f)
	if err != nil {
		return err
	}
	types, err := h.dash.AuditTypes(c.UserContext())
	if err != nil {
		return err
	}
	vm := views.AuditPageVM{Phone: vals.Get("phone"), Actor: f.Actor, Type: f.Type, From: vals.Get("from"), To: vals.Get("to"),
		Types: types, Entries: auditVMs(entries), CSVURL: "/admin/audit.csv?" + vals.Encode()}
	if next > 0 {
		nv := url.Values{}
		for k, v := range vals {
			nv[k] = v
		}
		nv.Set("before", strconv.FormatInt(next, 10))
		vm.NextURL = "/admin/audit?" + nv.Encode()
	}
	meta := h.meta(c, "audit", "Audit log")
	meta.Notice = notice
	return Render(c, fiber.StatusOK, views.AdminAudit(meta, vm))
}

// AuditCSV is GET /admin/audit.csv: the filtered log as CSV.
func (h *Admin) AuditCSV(c *fiber.Ctx) error {
	f, _, _ := h.auditFilter(c)
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
		return w.Write([]string{strconv.FormatInt(e.ID, 10), time.UnixMilli(e.At).UTC().Format(time.RFC3339Nano),
			csvCell(e.Actor), csvCell(e.Type), csvCell(e.Phone), uid, csvCell(e.IP), csvCell(e.UserAgent), csvCell(e.Detail)})
	})
	if err != nil {
		return err
	}
	w.Flush()
	return w.Error()
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

// Settings is GET /admin/settings.
func (h *Admin) Settings(c *fiber.Ctx) error {
	return Render(c, fiber.StatusOK, views.AdminSettings(h.meta(c, "settings", "Settings"), h.cfg.Settings))
}

func newFormToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func constantEqual(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
