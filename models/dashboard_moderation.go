package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// EventAdminModerate is an administrator clearing parts of a profile.
const EventAdminModerate = "admin_moderate"

// Moderation is what an administrator clears on an abusive profile.
type Moderation struct {
	Name, Status, Photo bool
}

// Cleared lists the parts, for the audit entry and the notice: "name, photo".
func (m Moderation) Cleared() string {
	var parts []string
	for _, p := range []struct {
		on   bool
		name string
	}{{m.Name, "name"}, {m.Status, "status"}, {m.Photo, "photo"}} {
		if p.on {
			parts = append(parts, p.name)
		}
	}
	return strings.Join(parts, ", ")
}

// ErrNothingToClear is a moderation with no part chosen.
var ErrNothingToClear = errors.New("choose the name, the status or the photo to clear")

// Moderate clears a user's name, status or photo through Profiles.Update,
// the path of the user's own change: their contacts get the usual profile
// notice and fetch the cleared profile. The audit entry is written in the
// same transaction.
func (d *UserActions) Moderate(ctx context.Context, userID int64, m Moderation, a *Admin, cl ClientInfo) error {
	if !m.Name && !m.Status && !m.Photo {
		return ErrNothingToClear
	}
	empty := ""
	e := adminEntry(0, a, EventAdminModerate, "", nil, cl, "cleared "+m.Cleared())
	ch := ProfileChange{DeletePhoto: m.Photo, Audit: &e}
	if m.Name {
		ch.Name = &empty
	}
	if m.Status {
		ch.Status = &empty
	}
	_, err := d.profiles.Update(ctx, userID, ch)
	return err
}

// EventAdminEditProfile is an administrator setting a user's name and
// status.
const EventAdminEditProfile = "admin_edit_profile"

// EditProfile sets a user's name and status through Profiles.Update, as a
// moderation does: the user's contacts get the usual profile notice. The
// texts are cleaned as an app's are (CleanText); the caller refuses ones
// that are too long rather than cut them.
func (d *UserActions) EditProfile(ctx context.Context, userID int64, name, status string, a *Admin, cl ClientInfo) error {
	name, status = CleanText(name, MaxNameLen), CleanText(status, MaxStatusLen)
	e := adminEntry(0, a, EventAdminEditProfile, "", nil, cl, fmt.Sprintf("set name %q, status %q", name, status))
	_, err := d.profiles.Update(ctx, userID, ProfileChange{Name: &name, Status: &status, Audit: &e})
	return err
}
