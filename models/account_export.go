package models

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"io/fs"

	"gorm.io/gorm"
)

// EventAccountExported is the audit entry of an export of a user's data
// (`exportaccount`).
const EventAccountExported = "account_exported"

// maxExportedRows bounds each list of an export (sessions, groups, matched
// users, syncs, uploads, audit entries), the newest first; Truncated names
// the lists cut there.
const maxExportedRows = 10_000

// addressBookNote says what an export holds of an address book, and why
// not the numbers.
const addressBookNote = "Roster stores the numbers you upload only as keyed hashes (HMAC-SHA256 under a server secret): " +
	"it cannot list them, so this document gives how many are stored, and the users among them that you find (matched_users)."

// AccountExport is everything Roster holds about a user, for the user:
// their "my data" document. Times are unix milliseconds. No token and no
// push token is in it (it says whether a device has a push token).
type AccountExport struct {
	Profile     ExportedProfile   `json:"profile"`
	Sessions    []ExportedSession `json:"sessions"`
	Groups      []ExportedGroup   `json:"groups"`
	AddressBook ExportedBook      `json:"address_book"`
	Syncs       []ExportedSync    `json:"contact_syncs"`
	Uploads     []ExportedUpload  `json:"uploads"`
	Audit       []ExportedAudit   `json:"audit_log"`
	Truncated   []string          `json:"truncated,omitempty"`
}

// ExportedProfile is the user's row.
type ExportedProfile struct {
	ID     int64  `json:"id"`
	Phone  string `json:"phone"`
	Name   string `json:"name"`
	Status string `json:"status"`
	Photo  string `json:"photo"`
	// The photo itself, so that the document keeps it after the account
	// is gone: base64 of the stored file, and its type ("" without one).
	PhotoData    string `json:"photo_data"`
	PhotoType    string `json:"photo_type"`
	Thumbnail    string `json:"thumbnail"` // the protocol's tn: base64 JPEG
	Discoverable string `json:"discoverable"`
	Announce     bool   `json:"announce"`
	BlockedUntil *int64 `json:"blocked_until"`
	CreatedAt    int64  `json:"created_at"`
	ProfileAt    int64  `json:"profile_changed_at"`
	LastSeenAt   *int64 `json:"last_seen_at"`
	DeleteAfter  *int64 `json:"delete_after"`
}

// ExportedSession is one sign-in, live or ended.
type ExportedSession struct {
	ID           int64  `json:"id"`
	Device       string `json:"device"`
	DeviceType   string `json:"device_type"`
	AppID        string `json:"app_id"`
	IP           string `json:"ip"`
	Country      string `json:"country"`
	UserAgent    string `json:"user_agent"`
	HasPushToken bool   `json:"has_push_token"`
	CreatedAt    int64  `json:"created_at"`
	LastUsedAt   int64  `json:"last_used_at"`
	ExpiresAt    int64  `json:"expires_at"`
	RevokedAt    *int64 `json:"ended_at"`
	RevokeReason string `json:"end_reason"`
}

// ExportedBook is what is stored of the address book: how many numbers,
// and the users among them that getcontacts lists to the caller (the
// numbers are the caller's own upload; the privacy rule of getcontacts
// holds, so nobody hidden from the caller is named).
type ExportedBook struct {
	Entries int64           `json:"entries"`
	Note    string          `json:"note"`
	Matched []ExportedMatch `json:"matched_users"`
}

// ExportedMatch is a user found in the caller's address book.
type ExportedMatch struct {
	Phone string `json:"phone"`
	Name  string `json:"name"`
}

// ExportedGroup is a group the caller is in, with their role.
type ExportedGroup struct {
	ID        int64  `json:"gid"`
	Name      string `json:"name"`
	Role      string `json:"role"` // owner, admin or member
	AddedAt   int64  `json:"added_at"`
	CreatedAt int64  `json:"created_at"`
}

// ExportedSync is one contact sync's record.
type ExportedSync struct {
	At         int64  `json:"at"`
	Kind       string `json:"kind"`
	Reset      bool   `json:"reset"`
	Received   int64  `json:"received"`
	Valid      int64  `json:"valid"`
	NewNumbers int64  `json:"new_numbers"`
	Matched    int64  `json:"matched"`
	Refused    string `json:"refused"`
}

// ExportedUpload is one stored file.
type ExportedUpload struct {
	Name      string `json:"name"`
	Profile   bool   `json:"profile_photo"`
	CreatedAt int64  `json:"created_at"`
}

// ExportedAudit is one audit entry about the user (by id or number).
type ExportedAudit struct {
	At        int64  `json:"at"`
	Actor     string `json:"actor"`
	Type      string `json:"type"`
	IP        string `json:"ip"`
	UserAgent string `json:"user_agent"`
	Detail    string `json:"detail"`
}

// Export gathers a user's data, in one read transaction (one consistent
// view), and audits the export (cl: who downloaded it).
func (a *Accounts) Export(ctx context.Context, uid int64, cl ClientInfo) (*AccountExport, error) {
	out := &AccountExport{AddressBook: ExportedBook{Note: addressBookNote}}
	err := a.db.Read.WithContext(ctx).Transaction(func(db *gorm.DB) error {
		var u User
		if err := db.Take(&u, uid).Error; err != nil {
			return err
		}
		out.Profile = ExportedProfile{ID: u.ID, Phone: u.Phone, Name: u.Name, Status: u.Status, Photo: u.Photo,
			Thumbnail: u.Thumbnail, Discoverable: u.Discoverable, Announce: u.Announce, BlockedUntil: u.BlockedUntil,
			CreatedAt: u.CreatedAt, ProfileAt: u.ProfileAt, LastSeenAt: u.LastSeenAt, DeleteAfter: u.DeleteAfter}
		lists := []struct {
			name  string
			query string
			dest  any
		}{
			{"sessions", `SELECT id, device, device_type, app_id, ip, country, user_agent, notify_token <> '' AS has_push_token,
				created_at, last_used_at, expires_at, revoked_at, revoke_reason FROM sessions WHERE user_id = ? ORDER BY id DESC LIMIT ?`, &out.Sessions},
			{"contact_syncs", `SELECT at, kind, reset, received, valid, new_numbers, matched, refused
				FROM contact_syncs WHERE user_id = ? ORDER BY at DESC, id DESC LIMIT ?`, &out.Syncs},
			{"uploads", `SELECT name, profile, created_at FROM uploads WHERE user_id = ? ORDER BY id DESC LIMIT ?`, &out.Uploads},
			{"groups", `SELECT g.id, g.name, CASE m.role WHEN 2 THEN 'owner' WHEN 1 THEN 'admin' ELSE 'member' END AS role,
				m.added_at, g.created_at FROM group_members m JOIN chat_groups g ON g.id = m.group_id
				WHERE m.user_id = ? AND g.deleted_at IS NULL ORDER BY g.id LIMIT ?`, &out.Groups},
		}
		for _, l := range lists {
			if err := db.Raw(l.query, uid, maxExportedRows+1).Scan(l.dest).Error; err != nil {
				return err
			}
		}
		if err := db.Raw(`SELECT u.phone, u.name FROM address_book b JOIN users u ON u.phone_hash = b.contact_hash
			WHERE b.owner_id = ? AND `+visibleTo("?", "?")+` ORDER BY u.phone LIMIT ?`,
			uid, uid, u.PhoneHash, maxExportedRows+1).Scan(&out.AddressBook.Matched).Error; err != nil {
			return err
		}
		if err := db.Raw(`SELECT at, actor, type, ip, user_agent, detail FROM audit_log WHERE user_id = ? OR phone = ?
			ORDER BY at DESC, id DESC LIMIT ?`, uid, u.Phone, maxExportedRows+1).Scan(&out.Audit).Error; err != nil {
			return err
		}
		return db.Raw("SELECT COUNT(*) FROM address_book WHERE owner_id = ?", uid).Scan(&out.AddressBook.Entries).Error
	})
	if err != nil {
		return nil, err
	}
	out.Sessions = cutExported(out, "sessions", out.Sessions)
	out.Syncs = cutExported(out, "contact_syncs", out.Syncs)
	out.Uploads = cutExported(out, "uploads", out.Uploads)
	out.Audit = cutExported(out, "audit_log", out.Audit)
	out.Groups = cutExported(out, "groups", out.Groups)
	out.AddressBook.Matched = cutExported(out, "matched_users", out.AddressBook.Matched)
	if err := a.exportPhoto(ctx, &out.Profile); err != nil {
		return nil, err
	}
	now := toMillis(a.clock.Now())
	return out, a.db.WriteTx(ctx, func(tx *Tx) error {
		return audit(tx.DB, apiEntry(now, EventAccountExported, out.Profile.Phone, &uid, cl, "downloaded from its link"))
	})
}

// maxExportedPhoto bounds the photo read into an export; stored photos
// are re-encoded far below it.
const maxExportedPhoto = 16 << 20

// exportPhoto puts the profile photo's file into the export, inline. A
// photo the store no longer has (removed meanwhile) is left out.
func (a *Accounts) exportPhoto(ctx context.Context, p *ExportedProfile) error {
	if p.Photo == "" {
		return nil
	}
	f, err := a.files.Open(ctx, p.Photo)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Body.Close()
	data, err := io.ReadAll(io.LimitReader(f.Body, maxExportedPhoto))
	if err != nil {
		return err
	}
	p.PhotoData, p.PhotoType = base64.StdEncoding.EncodeToString(data), f.ContentType
	return nil
}

// cutExported cuts a list read with one row more than maxExportedRows
// back to the bound, and notes the list as truncated.
func cutExported[T any](out *AccountExport, name string, rows []T) []T {
	if len(rows) > maxExportedRows {
		out.Truncated = append(out.Truncated, name)
		return rows[:maxExportedRows]
	}
	if rows == nil {
		return []T{} // a JSON list, empty, rather than null
	}
	return rows
}
