package models

import (
	"context"
	"database/sql"

	"gorm.io/gorm"
)

// Discoverability settings: who may find a user by number.
const (
	DiscoverEveryone = "everyone"
	DiscoverContacts = "contacts" // only people in the user's own address book
	DiscoverNobody   = "nobody"
)

// ValidDiscoverable reports whether s is a discoverability setting.
func ValidDiscoverable(s string) bool {
	return s == DiscoverEveryone || s == DiscoverContacts || s == DiscoverNobody
}

// ProfileChange is what a `profile` or `upload` request changes; nil fields
// stay as they are. Text is cleaned (CleanText) before it is stored.
type ProfileChange struct {
	Name         *string
	Status       *string
	Photo        *StoredPhoto // a new photo, already in the store
	DeletePhoto  bool
	Discoverable *string
	Announce     *bool
	GroupAdd     *string // who may add the user to a group (ValidDiscoverable's values)
	// Audit, when set, is written in the change's transaction (at its
	// time, with the user's id and number): a moderator's change.
	Audit *AuditEntry
}

// Profiles changes users' profiles and tells their contacts.
type Profiles struct {
	db     *DB
	clock  Clock
	events *Events
	photos *Photos
}

// NewProfiles returns the profile service.
func NewProfiles(db *DB, clock Clock, events *Events, photos *Photos) *Profiles {
	return &Profiles{db: db, clock: clock, events: events, photos: photos}
}

// Update applies a change. When the visible profile (name, status, photo) or
// who may see it changes, the user's change time moves forward, so that
// incremental syncs pick it up; a visible change also writes a notice to the
// user's contacts in the same transaction.
func (p *Profiles) Update(ctx context.Context, userID int64, ch ProfileChange) (*User, error) {
	now := p.clock.Now()
	u, err := WriteTx(ctx, p.db, func(tx *Tx) (*User, error) {
		// The whole row is written back from what is read here, and the
		// notice and the change time follow from it: on PostgreSQL the
		// row is locked first, so a concurrent change of another field is
		// not overwritten with its old value, and each change moves the
		// time forward from the one before (SQLite's single writer
		// serializes them by itself).
		u, err := lockedUserByID(tx.DB, userID, lockUserRow)
		if err != nil {
			return nil, err
		}
		var oldPhoto string
		visible, bump := applyChange(u, ch, &oldPhoto)
		if oldPhoto != "" {
			// Names are never reused; the old one is no longer served.
			tx.OnCommit(func() { _ = p.photos.Remove(ctx, oldPhoto) })
		}
		if ch.Audit != nil {
			e := *ch.Audit
			e.At, e.Phone, e.UserID = toMillis(now), u.Phone, &u.ID
			if err := audit(tx.DB, e); err != nil {
				return nil, err
			}
		}
		if !bump {
			return u, tx.Model(&User{}).Where("id = ?", u.ID).Updates(map[string]any{"announce": u.Announce, "groupadd": u.GroupAdd}).Error
		}
		changedAt, err := changeTime(tx.DB, p.clock, toMillis(now))
		if err != nil {
			return nil, err
		}
		u.ProfileAt = max(changedAt, u.ProfileAt+1) // strictly later than the user's last change
		err = tx.Model(&User{}).Where("id = ?", u.ID).Updates(map[string]any{
			"name": u.Name, "status": u.Status, "photo": u.Photo, "thumbnail": u.Thumbnail,
			"discoverable": u.Discoverable, "announce": u.Announce, "groupadd": u.GroupAdd, "profile_at": u.ProfileAt,
		}).Error
		if err != nil || !visible || p.events == nil {
			return u, err
		}
		tx.OnCommit(p.events.Wake)
		return u, p.events.record(tx.DB, u, EventProfile, now)
	})
	if err != nil {
		if ch.Photo != nil {
			_ = p.photos.Remove(ctx, ch.Photo.Name) // not referenced by anyone
		}
		return nil, err
	}
	return u, nil
}

// applyChange changes u in memory. visible: name, status or photo changed;
// bump: anything that contacts' apps must fetch again changed.
func applyChange(u *User, ch ProfileChange, oldPhoto *string) (visible, bump bool) {
	if ch.Name != nil {
		if n := CleanText(*ch.Name, MaxNameLen); n != u.Name {
			u.Name, visible = n, true
		}
	}
	if ch.Status != nil {
		if s := CleanText(*ch.Status, MaxStatusLen); s != u.Status {
			u.Status, visible = s, true
		}
	}
	switch {
	case ch.Photo != nil:
		*oldPhoto = u.Photo
		u.Photo, u.Thumbnail, visible = ch.Photo.Name, ch.Photo.Thumbnail, true
	case ch.DeletePhoto && u.Photo != "":
		*oldPhoto = u.Photo
		u.Photo, u.Thumbnail, visible = "", "", true
	}
	bump = visible
	if ch.Discoverable != nil && ValidDiscoverable(*ch.Discoverable) && *ch.Discoverable != u.Discoverable {
		u.Discoverable, bump = *ch.Discoverable, true
	}
	if ch.Announce != nil {
		u.Announce = *ch.Announce
	}
	if ch.GroupAdd != nil && ValidDiscoverable(*ch.GroupAdd) {
		u.GroupAdd = *ch.GroupAdd
	}
	return visible, bump
}

// changeTime is the profile change time to store at now (unix ms): never
// before the latest one stored, for any user, nor before the latest time
// the clock gave (a HighWaterClock's: replies' ts). Incremental syncs ask
// for the changes since the newest change or the reply time they saw; with
// the system clock stepped back, a change stored at the clock's time would
// sort before it and never be sent. users_profile_at makes the lookup one
// index probe.
func changeTime(tx *gorm.DB, clock Clock, now int64) (int64, error) {
	var latest sql.NullInt64
	if err := tx.Raw("SELECT MAX(profile_at) FROM users").Row().Scan(&latest); err != nil {
		return 0, err
	}
	if hw, ok := clock.(*HighWaterClock); ok {
		now = max(now, toMillis(hw.Latest()))
	}
	return max(now, latest.Int64), nil
}
