package models

import (
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"
)

// Audit event types. Auth events are written by the sign-in flow; the
// dashboard adds admin actions with an "admin:<name>" actor.
const (
	EventCodeRequested   = "code_requested"
	EventCodeRateLimited = "code_rate_limited"
	EventCodeSent        = "code_sent"
	EventCodeSendFailed  = "code_send_failed"
	EventCodeVerified    = "code_verified"
	EventCodeFailed      = "code_failed"
	EventPhoneLocked     = "phone_locked"
	EventUserCreated     = "user_created"
	EventTokenIssued     = "token_issued"
	EventTokenRevoked    = "token_revoked"

	// mesibo mode.
	EventMesiboFailed       = "mesibo_failed"        // a mesibo API call during sign-in failed
	EventMesiboRevoked      = "mesibo_revoked"       // a token or user was deleted at mesibo
	EventMesiboRevokeFailed = "mesibo_revoke_failed" // deleting at mesibo was given up
	EventSMSRefused         = "sms_refused"          // country not allowed, or the hourly SMS cap reached
)

// Actors of audit entries that are not admins.
const (
	ActorAPI    = "api"
	ActorSystem = "system"
)

// AuditEntry is one row of the append-only audit log.
type AuditEntry struct {
	ID        int64
	At        int64
	Actor     string
	Type      string
	Phone     string
	UserID    *int64
	IP        string
	UserAgent string
	Detail    string
	// Repeats, when not nil, is how many more events like this one (same
	// type, same network) came within repeatWindow of it, the last at
	// LastAt: floods of refusals are counted, not written row by row.
	Repeats *int64
	LastAt  *int64
}

// TableName tells GORM the table.
func (AuditEntry) TableName() string { return "audit_log" }

// ClientInfo describes who made an API request; it goes into sessions and
// the audit log.
type ClientInfo struct {
	IP         string
	UserAgent  string
	AppID      string
	Device     string
	DeviceType string
	// Languages is the client's language preference, in Accept-Language
	// syntax: the request's lang parameter or that header.
	Languages string
	Country   string // of the client's address, if known (CleanCountry); stored on a new session
}

// audit appends an entry inside the caller's transaction, so the entry exists
// exactly when the change it describes does.
func audit(tx *gorm.DB, entries ...AuditEntry) error {
	if len(entries) == 1 {
		return tx.Create(&entries[0]).Error
	}
	return tx.Create(&entries).Error // one INSERT of all
}

// repeatWindow is how long after a counted event its repeats from the
// same network are counted on its row.
const repeatWindow = time.Hour

// auditRepeatable appends an entry for an event that an unauthenticated
// client can cause at will (a refused code request, a throttled dashboard
// sign-in, a test number's code), counting it instead on the row of the
// same type from the same network (the IP kept is the network's key)
// written within the last repeatWindow, if there is one. A client repeating
// such a request adds one row an hour, not one per request.
func auditRepeatable(tx *gorm.DB, e AuditEntry) error {
	return auditRepeats(tx, e, 1, e.At)
}

// auditRepeats is auditRepeatable for count events like e from its
// network, e the first and the last at lastAt: they are counted on the
// network's row written within repeatWindow before e, or on a new row
// that stands for all of them.
func auditRepeats(tx *gorm.DB, e AuditEntry, count, lastAt int64) error {
	e.IP = NetworkKey(e.IP)
	res := tx.Exec(`UPDATE audit_log SET repeats = repeats + ?, last_at = ? WHERE id = (
		SELECT id FROM audit_log WHERE type = ? AND ip = ? AND at >= ? AND repeats IS NOT NULL
		ORDER BY at DESC, id DESC LIMIT 1)`, count, lastAt, e.Type, e.IP, e.At-repeatWindow.Milliseconds())
	if res.Error != nil || res.RowsAffected > 0 {
		return res.Error
	}
	more := count - 1
	e.Repeats = &more
	if more > 0 {
		e.LastAt = &lastAt
	}
	return audit(tx, e)
}

// auditEntry builds an audit entry; every entry is built here. The actor is
// ActorAPI, ActorSystem or an admin's Actor() (for a failed dashboard
// sign-in, "admin:" and the name as typed). What a client chose (that name,
// its address, its user agent) and the detail are made fit to store here.
func auditEntry(at int64, actor, typ, phone string, userID *int64, cl ClientInfo, detail string) AuditEntry {
	return AuditEntry{At: at, Actor: truncate(actor, maxActorLen), Type: typ, Phone: phone, UserID: userID,
		IP: truncate(cl.IP, 64), UserAgent: truncate(cl.UserAgent, 512), Detail: truncate(detail, maxDetailLen)}
}

const (
	// maxActorLen fits "admin:" and the longest admin name.
	maxActorLen = len("admin:") + 64
	// maxDetailLen bounds a detail. Details quote client text (a users CSV
	// export's filter, from its request line); the bound is above every
	// detail written in practice and keeps a row small whatever comes.
	maxDetailLen = 8192
)

// apiEntry is an entry of an API client's action.
func apiEntry(at int64, typ, phone string, userID *int64, cl ClientInfo, detail string) AuditEntry {
	return auditEntry(at, ActorAPI, typ, phone, userID, cl, detail)
}

// Clean returns the client's description made fit to store and to query
// with: every text valid UTF-8, without control characters, and bounded
// (truncate). Headers and parameters are client bytes: PostgreSQL refuses a
// text that is not UTF-8 or holds NUL, and a statement that fails undoes
// its whole transaction.
func (cl ClientInfo) Clean() ClientInfo {
	return ClientInfo{IP: truncate(cl.IP, 64), UserAgent: truncate(cl.UserAgent, 512), AppID: truncate(cl.AppID, 256),
		Device: truncate(cl.Device, 256), DeviceType: truncate(cl.DeviceType, 64), Languages: truncate(cl.Languages, 256),
		Country: CleanCountry(cl.Country)}
}

// truncate makes text fit to store: valid UTF-8 (an invalid byte becomes
// U+FFFD), control characters replaced by U+FFFD (PostgreSQL refuses NUL;
// the others garble logs and pages), at most n bytes cut at a character
// boundary.
func truncate(s string, n int) string {
	if !storable(s) {
		s = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return utf8.RuneError
			}
			return r
		}, strings.ToValidUTF8(s, string(utf8.RuneError)))
	}
	if len(s) <= n {
		return s
	}
	// back off to a rune boundary so the stored text stays valid UTF-8
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// storable reports whether s is valid UTF-8 without control characters.
func storable(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// NetworkKey is the key per-IP limits count a client under: an IPv4
// address itself, the /64 of an IPv6 address (one subscriber usually holds a
// whole /64: counting single addresses would give each client billions of
// fresh quotas). It is never empty, so a request whose address is unknown
// still counts, under one shared key.
func NetworkKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "unknown"
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		return netip.PrefixFrom(a, 64).Masked().String()
	}
	return a.String()
}
