package models

import (
	"context"
	"time"
)

// The dashboard shows what each user's contact sync did: the address book,
// the sync records and the events that contacts.go and events.go write.
// These are the shapes it reads them in, and ContactSyncReader the queries.

// SyncSummary is a user's contact-sync state in the user list.
type SyncSummary struct {
	Contacts   int64  // address-book entries stored
	LastSyncAt *int64 // ms; nil when the user never synced
}

// SyncRun is one recorded sync.
type SyncRun struct {
	At         int64 // ms
	Sent       int64 // numbers uploaded
	New        int64 // numbers not seen before
	Matched    int64 // numbers that are users
	DurationMs int64
}

// UserRef names a user for links.
type UserRef struct {
	ID    int64
	Phone string
	Name  string
}

// UserSync is a user's contact-sync section.
type UserSync struct {
	LastSyncAt    *int64
	NumbersStored int64
	Matched       []UserRef // users in this user's address book (first N)
	HaveThisUser  []UserRef // users who have this user's number (first N; the reverse index)
	Recent        []SyncRun // newest first
}

// EventSent is a notice about a user that was fanned out to their contacts.
type EventSent struct {
	At         int64
	Type       string // "joined", "profile"
	Recipients int64
}

// ContactSyncReader serves the dashboard's contact-sync sections from the
// contact-sync tables (address_book, contact_syncs, events). Every query is
// an index lookup, fast on a million users: the user list calls Summaries
// for each page of ids. Sections reading contact_syncs first write the
// records that contact sync still holds in its queue (Contacts.FlushSyncs).
type ContactSyncReader struct {
	db       *DB
	contacts *Contacts
}

// NewContactSyncReader returns the dashboard's view of contact sync.
func NewContactSyncReader(db *DB, contacts *Contacts) *ContactSyncReader {
	return &ContactSyncReader{db: db, contacts: contacts}
}

func (r *ContactSyncReader) flush(ctx context.Context) error {
	_, err := r.contacts.FlushSyncs(ctx)
	return err
}

// Summaries returns the address-book size and last sync of each user.
func (r *ContactSyncReader) Summaries(ctx context.Context, userIDs []int64) (map[int64]SyncSummary, error) {
	out := make(map[int64]SyncSummary, len(userIDs))
	if len(userIDs) == 0 {
		return out, nil
	}
	if err := r.flush(ctx); err != nil {
		return nil, err
	}
	db := r.db.Read.WithContext(ctx)
	var counts []struct {
		OwnerID int64
		N       int64
	}
	if err := db.Raw("SELECT owner_id, COUNT(*) AS n FROM address_book WHERE owner_id IN ? GROUP BY owner_id", userIDs).
		Scan(&counts).Error; err != nil {
		return nil, err
	}
	for _, c := range counts {
		out[c.OwnerID] = SyncSummary{Contacts: c.N}
	}
	var last []struct {
		UserID int64
		At     int64
	}
	if err := db.Raw("SELECT user_id, MAX(at) AS at FROM contact_syncs WHERE user_id IN ? GROUP BY user_id", userIDs).
		Scan(&last).Error; err != nil {
		return nil, err
	}
	for _, l := range last {
		s := out[l.UserID]
		at := l.At
		s.LastSyncAt = &at
		out[l.UserID] = s
	}
	return out, nil
}

// UserSync returns one user's contact-sync section.
func (r *ContactSyncReader) UserSync(ctx context.Context, userID int64, limit int) (*UserSync, error) {
	if err := r.flush(ctx); err != nil {
		return nil, err
	}
	db := r.db.Read.WithContext(ctx)
	us := &UserSync{}
	if err := db.Raw("SELECT COUNT(*) FROM address_book WHERE owner_id = ?", userID).Scan(&us.NumbersStored).Error; err != nil {
		return nil, err
	}
	if err := db.Raw(`SELECT u.id, u.phone, u.name FROM address_book b JOIN users u ON u.phone_hash = b.contact_hash
		WHERE b.owner_id = ? ORDER BY u.id LIMIT ?`, userID, limit).Scan(&us.Matched).Error; err != nil {
		return nil, err
	}
	if err := db.Raw(`SELECT o.id, o.phone, o.name FROM users u
		JOIN address_book b ON b.contact_hash = u.phone_hash
		JOIN users o ON o.id = b.owner_id
		WHERE u.id = ? ORDER BY o.id DESC LIMIT ?`, userID, limit).Scan(&us.HaveThisUser).Error; err != nil {
		return nil, err
	}
	if err := db.Raw(`SELECT at, received AS sent, new_numbers AS new, matched, duration_us / 1000 AS duration_ms
		FROM contact_syncs WHERE user_id = ? ORDER BY at DESC, id DESC LIMIT ?`, userID, limit).Scan(&us.Recent).Error; err != nil {
		return nil, err
	}
	if len(us.Recent) > 0 {
		at := us.Recent[0].At
		us.LastSyncAt = &at
	}
	return us, nil
}

// EventsAbout lists the notices about a user (joined, profile changes).
func (r *ContactSyncReader) EventsAbout(ctx context.Context, userID int64, limit int) ([]EventSent, error) {
	var evs []EventSent
	err := r.db.Read.WithContext(ctx).Raw(`SELECT created_at AS at, type, recipients FROM events
		WHERE user_id = ? ORDER BY id DESC LIMIT ?`, userID, limit).Scan(&evs).Error
	return evs, err
}

// SyncsPerDay counts recorded syncs per UTC day for days days from start.
func (r *ContactSyncReader) SyncsPerDay(ctx context.Context, start time.Time, days int) ([]int64, error) {
	const day = int64(24 * time.Hour / time.Millisecond)
	from := toMillis(start)
	if err := r.flush(ctx); err != nil {
		return nil, err
	}
	var rows []struct {
		D int64
		N int64
	}
	err := r.db.Read.WithContext(ctx).Raw(`SELECT (at - ?) / ? AS d, COUNT(*) AS n FROM contact_syncs
		WHERE at >= ? AND at < ? GROUP BY d`, from, day, from, from+int64(days)*day).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]int64, days)
	for _, row := range rows {
		if row.D >= 0 && row.D < int64(days) {
			out[row.D] = row.N
		}
	}
	return out, nil
}
