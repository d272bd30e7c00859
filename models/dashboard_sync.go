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
	MatchedCount  int64     // all of them, up to linkCountCap
	HaveCount     int64
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
	var err error
	if us.Matched, _, err = r.UserLinks(ctx, userID, LinksMatched, 0, limit); err != nil {
		return nil, err
	}
	if us.HaveThisUser, _, err = r.UserLinks(ctx, userID, LinksHaveThisUser, 0, limit); err != nil {
		return nil, err
	}
	if us.MatchedCount, err = r.LinkCount(ctx, userID, LinksMatched); err != nil {
		return nil, err
	}
	if us.HaveCount, err = r.LinkCount(ctx, userID, LinksHaveThisUser); err != nil {
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

// The two lists of a user's contact graph.
const (
	LinksMatched      = "matched" // users in this user's address book
	LinksHaveThisUser = "have"    // users who have this user's number
)

// LinkCountCap bounds the counts of a user's contact graph (a number can be
// in every address book).
const LinkCountCap = 100_000

// LinkCount counts a user's matched users or holders, up to LinkCountCap.
func (r *ContactSyncReader) LinkCount(ctx context.Context, userID int64, which string) (int64, error) {
	q := `SELECT count(*) FROM (SELECT 1 FROM address_book b JOIN users u ON u.phone_hash = b.contact_hash
		WHERE b.owner_id = ? LIMIT ?) AS linked`
	if which == LinksHaveThisUser {
		q = `SELECT count(*) FROM (SELECT 1 FROM users u JOIN address_book b ON b.contact_hash = u.phone_hash
			WHERE u.id = ? LIMIT ?) AS linked`
	}
	var n int64
	err := r.db.Read.WithContext(ctx).Raw(q, userID, LinkCountCap).Scan(&n).Error
	return n, err
}

// UserLinks is one keyset page of a user's matched users (in id order) or
// of who has the user (newest users first), after the id after (0: from
// the start). next is the cursor of the next page, 0 on the last.
func (r *ContactSyncReader) UserLinks(ctx context.Context, userID int64, which string, after int64, limit int) ([]UserRef, int64, error) {
	limit = max(limit, 1)
	db := r.db.Read.WithContext(ctx)
	var out []UserRef
	var err error
	if which == LinksMatched {
		err = db.Raw(`SELECT u.id, u.phone, u.name FROM address_book b JOIN users u ON u.phone_hash = b.contact_hash
			WHERE b.owner_id = ? AND u.id > ? ORDER BY u.id LIMIT ?`, userID, after, limit+1).Scan(&out).Error
	} else {
		if after == 0 {
			after = 1 << 62
		}
		err = db.Raw(`SELECT o.id, o.phone, o.name FROM users u
			JOIN address_book b ON b.contact_hash = u.phone_hash
			JOIN users o ON o.id = b.owner_id
			WHERE u.id = ? AND o.id < ? ORDER BY o.id DESC LIMIT ?`, userID, after, limit+1).Scan(&out).Error
	}
	if err != nil || len(out) <= limit {
		return out, 0, err
	}
	return out[:limit], out[limit-1].ID, nil
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
