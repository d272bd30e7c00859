package models

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"
)

// GroupChange is what a setgroup, profile or upload with a gid changes; nil
// fields stay as they are.
type GroupChange struct {
	Name        *string
	Photo       *StoredPhoto // a new photo, already in the store
	DeletePhoto bool
	// Members, when not nil, replaces the member list (numbers in E.164,
	// see ParseNumbers); the owner and the caller always stay.
	Members []string
	// Client, when set, is the app's request that makes the change: the
	// change is audited as the caller's (EventGroupChanged). The
	// dashboard's changes write their own entries.
	Client *ClientInfo
}

// EventGroupChanged is the audit entry of a group change made in the app.
const EventGroupChanged = "group_changed"

// ParseNumbers reads the numbers of a group op's `m` as contact numbers
// are read (national numbers in the caller's country, through a cache of
// parsed numbers) and returns them in E.164 without repeats, and the ones
// that are not numbers.
func (g *Groups) ParseNumbers(caller *User, raw []string) (numbers, bad []string) {
	region := Phone{E164: caller.Phone}.ContactRegion()
	seen := make(map[string]bool, len(raw))
	for _, r := range raw {
		e := g.norm.one(r, region)
		if e == "" {
			bad = append(bad, r)
			continue
		}
		if !seen[e] {
			seen[e] = true
			numbers = append(numbers, e)
		}
	}
	return numbers, bad
}

// groupEdit is one change of a group being built in its transaction: the
// group's row (locked), its members as they were, and what changes.
type groupEdit struct {
	grp        *Group
	members    map[int64]GroupMember
	callerID   int64
	callerRole int
	visible    bool // name or photo changed
	oldPhoto   string
	added      []GroupMember
	removed    []int64
	roles      map[int64]int // new roles of members who stay
	refused    []string
	// invites holds the hashed numbers of the members who are not users
	// (as strings, for lookups); invite and uninvite are those to add
	// and to remove.
	invites  map[string]bool
	invite   [][]byte
	uninvite [][]byte
	created  bool // the group is new
	renamed  bool
}

// Create makes a group with the caller as its owner and the users among
// numbers as members.
func (g *Groups) Create(ctx context.Context, caller *User, ch GroupChange) (*GroupView, error) {
	now := toMillis(g.clock.Now())
	v, err := WriteTx(ctx, g.db, func(tx *Tx) (*GroupView, error) { return g.create(tx, caller, ch, now) })
	if err != nil && ch.Photo != nil {
		_ = g.photos.Remove(ctx, ch.Photo.Name) // not referenced by anyone
	}
	return v, err
}

// create makes the group in tx (Create, and the dashboard's creation).
func (g *Groups) create(tx *Tx, caller *User, ch GroupChange, now int64) (*GroupView, error) {
	users, missing, err := g.usersByPhone(tx.DB, ch.Members)
	if err != nil {
		return nil, err
	}
	ids := []int64{caller.ID}
	for _, u := range users {
		ids = append(ids, u.UserID)
	}
	if n, err := lockUsers(tx.DB, ids...); err != nil || n == 0 {
		return nil, cmp.Or(err, ErrNotFound)
	}
	var n int64
	if err := tx.Raw("SELECT COUNT(*) FROM group_members WHERE user_id = ?", caller.ID).Scan(&n).Error; err != nil {
		return nil, err
	}
	if n >= int64(g.cfg.MaxPerUser) {
		return nil, &GroupError{Refusal: GroupTooLarge, Message: fmt.Sprintf("The owner is in %d groups, the most one may be in.", n)}
	}
	grp := &Group{CreatedAt: now, ChangedAt: 0}
	if err := tx.Create(grp).Error; err != nil {
		return nil, err
	}
	ed := &groupEdit{grp: grp, members: map[int64]GroupMember{}, callerID: caller.ID, callerRole: GroupRoleOwner,
		roles: map[int64]int{}, invites: map[string]bool{}, created: true}
	ed.added = append(ed.added, GroupMember{UserID: caller.ID, Phone: caller.Phone, Role: GroupRoleOwner})
	ed.replaceMembers(users, missing)
	return g.finish(tx, ed, ch, now)
}

// Update changes a group's name, photo or member list: admins and the
// owner only.
func (g *Groups) Update(ctx context.Context, callerID, gid int64, ch GroupChange) (*GroupView, error) {
	v, err := g.edit(ctx, callerID, gid, GroupRoleAdmin, ch.Members, func(ed *groupEdit, users []GroupMember, missing [][]byte) error {
		if ch.Members != nil {
			ed.replaceMembers(users, missing)
		}
		return nil
	}, ch)
	if err != nil && ch.Photo != nil {
		_ = g.photos.Remove(ctx, ch.Photo.Name)
	}
	return v, err
}

// EditMembers adds (remove false) or removes the people of numbers:
// admins and the owner only; nobody removes the owner. Numbers of people
// who are not members are passed over in a removal.
func (g *Groups) EditMembers(ctx context.Context, callerID, gid int64, numbers []string, remove bool, cl ClientInfo) (*GroupView, error) {
	return g.edit(ctx, callerID, gid, GroupRoleAdmin, numbers, membersChange(remove), GroupChange{Client: &cl})
}

// membersChange adds (remove false) or removes the people of the numbers
// (users, and the hashed numbers of people who are not): EditMembers and
// the dashboard's changes.
func membersChange(remove bool) func(ed *groupEdit, users []GroupMember, missing [][]byte) error {
	return func(ed *groupEdit, users []GroupMember, missing [][]byte) error {
		for _, h := range missing {
			switch in := ed.invites[string(h)]; {
			case !remove && !in:
				ed.invite = append(ed.invite, h)
			case remove && in:
				ed.uninvite = append(ed.uninvite, h)
			}
		}
		for _, u := range users {
			m, in := ed.members[u.UserID]
			switch {
			case !remove && !in:
				ed.added = append(ed.added, GroupMember{UserID: u.UserID, Phone: u.Phone})
			case remove && in && m.Role == GroupRoleOwner:
				return errNotAllowed("The group's owner cannot be removed.")
			case remove && in:
				ed.removed = append(ed.removed, u.UserID)
			}
		}
		return nil
	}
}

// SetAdmin makes the users among numbers admins (or members again): admins
// and the owner only; the owner's role never changes. Numbers of people
// who are not members are passed over.
func (g *Groups) SetAdmin(ctx context.Context, callerID, gid int64, numbers []string, admin bool, cl ClientInfo) (*GroupView, error) {
	return g.edit(ctx, callerID, gid, GroupRoleAdmin, numbers, rolesChange(admin), GroupChange{Client: &cl})
}

// rolesChange makes the members among the users admins (admin true) or
// members again: SetAdmin and the dashboard's role change.
func rolesChange(admin bool) func(ed *groupEdit, users []GroupMember, missing [][]byte) error {
	role := GroupRoleMember
	if admin {
		role = GroupRoleAdmin
	}
	return func(ed *groupEdit, users []GroupMember, _ [][]byte) error {
		for _, u := range users {
			m, in := ed.members[u.UserID]
			switch {
			case !in:
			case m.Role == GroupRoleOwner:
				return errNotAllowed("The owner's role cannot be changed.")
			case m.Role != role:
				ed.roles[u.UserID] = role
			}
		}
		return nil
	}
}

// Delete deletes the group when the caller owns it; anyone else leaves it.
// It reports whether the group was deleted.
func (g *Groups) Delete(ctx context.Context, callerID, gid int64, cl ClientInfo) (deleted bool, err error) {
	now := toMillis(g.clock.Now())
	return WriteTx(ctx, g.db, func(tx *Tx) (bool, error) {
		if _, _, err := g.lockedUsersByPhone(tx.DB, callerID, nil); err != nil {
			return false, err
		}
		ed, err := g.load(tx.DB, callerID, gid, GroupRoleMember)
		if err != nil {
			return false, err
		}
		if ed.callerRole != GroupRoleOwner {
			ed.removed = append(ed.removed, callerID)
			_, err := g.finish(tx, ed, GroupChange{Client: &cl}, now)
			return false, err
		}
		if err := g.deleteGroup(tx, ed, now); err != nil {
			return false, err
		}
		return true, g.auditChange(tx, ed, &cl, "deleted", now)
	})
}

// deleteGroup removes every member (each is told through the delta sync)
// and marks the group deleted; its photo goes after the commit.
func (g *Groups) deleteGroup(tx *Tx, ed *groupEdit, now int64) error {
	for id := range ed.members {
		ed.removed = append(ed.removed, id)
	}
	if ed.grp.Photo != "" {
		photo := ed.grp.Photo
		tx.OnCommit(func() { _ = g.photos.Remove(context.Background(), photo) })
	}
	changedAt, err := groupChangeTime(tx.DB, g.clock, ed.grp, now)
	if err != nil {
		return err
	}
	notices, err := g.recordNotices(tx, ed, now)
	if err != nil {
		return err
	}
	if err := g.writeMembers(tx.DB, ed, changedAt, notices); err != nil {
		return err
	}
	if err := tx.Exec("DELETE FROM group_invites WHERE group_id = ?", ed.grp.ID).Error; err != nil {
		return err
	}
	err = tx.Model(&Group{}).Where("id = ?", ed.grp.ID).Updates(map[string]any{
		"deleted_at": now, "changed_at": changedAt, "photo": "", "thumbnail": ""}).Error
	if err != nil {
		return err
	}
	ed.grp.ChangedAt, ed.grp.DeletedAt, ed.grp.Photo, ed.grp.Thumbnail = changedAt, &now, "", ""
	if g.cfg.Mesibo {
		if err := queueMesiboGroupEdit(tx.DB, ed, true, now); err != nil {
			return err
		}
	}
	return notices.fill(tx.DB, &GroupView{Group: *ed.grp})
}

// edit runs one change of an existing group in a write transaction: the
// users among numbers and the caller are read and, on PostgreSQL, locked
// (users' rows before the group's: the lock order), so that the groups
// each is in are counted with no other change of theirs in between, and
// the caller's account is not deleted meanwhile (its deletion changes the
// caller's groups, and the notice names the caller); then the group is
// locked and read, the caller's role checked against minRole, change
// fills in the members to add, remove or promote, and finish applies it
// within the limits.
func (g *Groups) edit(ctx context.Context, callerID, gid int64, minRole int, numbers []string,
	change func(ed *groupEdit, users []GroupMember, missing [][]byte) error, ch GroupChange) (*GroupView, error) {
	now := toMillis(g.clock.Now())
	return WriteTx(ctx, g.db, func(tx *Tx) (*GroupView, error) {
		return g.editTx(tx, callerID, gid, minRole, numbers, change, ch, now)
	})
}

// editTx is edit's transaction (also the dashboard's changes, in theirs).
func (g *Groups) editTx(tx *Tx, callerID, gid int64, minRole int, numbers []string,
	change func(ed *groupEdit, users []GroupMember, missing [][]byte) error, ch GroupChange, now int64) (*GroupView, error) {
	users, missing, err := g.lockedUsersByPhone(tx.DB, callerID, numbers)
	if err != nil {
		return nil, err
	}
	ed, err := g.load(tx.DB, callerID, gid, minRole)
	if err != nil {
		return nil, err
	}
	if err := change(ed, users, missing); err != nil {
		return nil, err
	}
	return g.finish(tx, ed, ch, now)
}

// load locks and reads the group and checks the caller's role.
func (g *Groups) load(tx *gorm.DB, callerID, gid int64, minRole int) (*groupEdit, error) {
	grp, err := lockedGroup(tx, gid)
	if err != nil {
		return nil, err
	}
	v, err := groupView(tx, grp)
	if err != nil {
		return nil, err
	}
	role := v.RoleOf(callerID)
	if role < 0 {
		return nil, errNotMember
	}
	if role < minRole {
		return nil, errNotAllowed("Only the group's admins may change it.")
	}
	ed := &groupEdit{grp: grp, members: make(map[int64]GroupMember, len(v.Members)), callerID: callerID, callerRole: role,
		roles: map[int64]int{}, invites: map[string]bool{}}
	for _, m := range v.Members {
		ed.members[m.UserID] = m
	}
	var invites [][]byte
	if err := tx.Raw("SELECT phone_hash FROM group_invites WHERE group_id = ?", gid).Scan(&invites).Error; err != nil {
		return nil, err
	}
	for _, h := range invites {
		ed.invites[string(h)] = true
	}
	return ed, nil
}

// finish applies ch and the edit's member changes, within the limits, and
// returns the group as it now is. A change that changes nothing writes
// nothing.
func (g *Groups) finish(tx *Tx, ed *groupEdit, ch GroupChange, now int64) (*GroupView, error) {
	if err := g.applyChange(tx, ed, ch); err != nil {
		return nil, err
	}
	if err := g.checkLimits(tx.DB, ed); err != nil {
		return nil, err
	}
	if !ed.visible && len(ed.added) == 0 && len(ed.removed) == 0 && len(ed.roles) == 0 && len(ed.invite) == 0 && len(ed.uninvite) == 0 {
		v, err := groupView(tx.DB, ed.grp)
		if v != nil {
			v.Refused = ed.refused
		}
		return v, err
	}
	changedAt, err := groupChangeTime(tx.DB, g.clock, ed.grp, now)
	if err != nil {
		return nil, err
	}
	notices, err := g.recordNotices(tx, ed, now)
	if err != nil {
		return nil, err
	}
	if err := g.writeMembers(tx.DB, ed, changedAt, notices); err != nil {
		return nil, err
	}
	ed.grp.ChangedAt = changedAt
	err = tx.Model(&Group{}).Where("id = ?", ed.grp.ID).Updates(map[string]any{
		"name": ed.grp.Name, "photo": ed.grp.Photo, "thumbnail": ed.grp.Thumbnail, "changed_at": changedAt}).Error
	if err != nil {
		return nil, err
	}
	if ed.oldPhoto != "" {
		old := ed.oldPhoto
		tx.OnCommit(func() { _ = g.photos.Remove(context.Background(), old) })
	}
	v, err := groupView(tx.DB, ed.grp)
	if err != nil {
		return nil, err
	}
	v.Refused = ed.refused
	if g.cfg.Mesibo {
		if err := queueMesiboGroupEdit(tx.DB, ed, false, now); err != nil {
			return nil, err
		}
	}
	if err := g.auditChange(tx, ed, ch.Client, ed.summary(), now); err != nil {
		return nil, err
	}
	return v, notices.fill(tx.DB, v)
}

// recordNotices numbers the edit's notices (recordGroupNotices) and wakes
// the fan-out once they are stored. The caller is not told they added
// themselves.
func (g *Groups) recordNotices(tx *Tx, ed *groupEdit, now int64) (*groupNotices, error) {
	tellAdded := slices.ContainsFunc(ed.added, func(m GroupMember) bool { return m.UserID != ed.callerID })
	if g.events != nil {
		tx.OnCommit(g.events.Wake)
	}
	return recordGroupNotices(tx.DB, ed.grp.ID, ed.callerID, tellAdded, now)
}

// applyChange applies the name, the photo and a new member list.
func (g *Groups) applyChange(tx *Tx, ed *groupEdit, ch GroupChange) error {
	if ch.Name != nil {
		if n := CleanText(*ch.Name, MaxNameLen); n != ed.grp.Name {
			ed.grp.Name, ed.visible, ed.renamed = n, true, true
		}
	}
	switch {
	case ch.Photo != nil:
		ed.oldPhoto = ed.grp.Photo
		ed.grp.Photo, ed.grp.Thumbnail, ed.visible = ch.Photo.Name, ch.Photo.Thumbnail, true
		// The group owns the file now: the uploader's ledger no longer
		// names it, so that deleting their account leaves it in place.
		if err := tx.Exec("UPDATE uploads SET name = '' WHERE name = ?", ch.Photo.Name).Error; err != nil {
			return err
		}
	case ch.DeletePhoto && ed.grp.Photo != "":
		ed.oldPhoto = ed.grp.Photo
		ed.grp.Photo, ed.grp.Thumbnail, ed.visible = "", "", true
	}
	return nil
}

// replaceMembers makes users and the people who are not users (missing,
// hashed numbers) the member list: the owner and the caller stay, and so
// do the roles of everyone who stays.
func (ed *groupEdit) replaceMembers(users []GroupMember, missing [][]byte) {
	keepInvite := make(map[string]bool, len(missing))
	for _, h := range missing {
		keepInvite[string(h)] = true
		if !ed.invites[string(h)] {
			ed.invite = append(ed.invite, h)
		}
	}
	for h := range ed.invites {
		if !keepInvite[h] {
			ed.uninvite = append(ed.uninvite, []byte(h))
		}
	}
	keep := map[int64]bool{ed.callerID: true}
	for _, u := range users {
		keep[u.UserID] = true
		if _, in := ed.members[u.UserID]; !in && !slices.ContainsFunc(ed.added, func(m GroupMember) bool { return m.UserID == u.UserID }) {
			ed.added = append(ed.added, GroupMember{UserID: u.UserID, Phone: u.Phone})
		}
	}
	for id, m := range ed.members {
		if !keep[id] && m.Role != GroupRoleOwner {
			ed.removed = append(ed.removed, id)
		}
	}
}

// summary says what the edit changed, for the audit log.
func (ed *groupEdit) summary() string {
	var parts []string
	switch {
	case ed.created:
		parts = append(parts, fmt.Sprintf("created %q", ed.grp.Name))
	case ed.renamed:
		parts = append(parts, fmt.Sprintf("renamed %q", ed.grp.Name))
	}
	if ed.visible && !ed.renamed && !ed.created {
		parts = append(parts, "photo changed")
	}
	if n := len(ed.added) + len(ed.invite); n > 0 && !ed.created {
		parts = append(parts, plural(n, "member", "members")+" added")
	}
	if n := len(ed.removed) + len(ed.uninvite); n > 0 {
		parts = append(parts, plural(n, "member", "members")+" removed")
	}
	if n := len(ed.roles); n > 0 {
		parts = append(parts, plural(n, "role", "roles")+" changed")
	}
	if len(ed.refused) > 0 {
		parts = append(parts, plural(len(ed.refused), "person", "people")+" left out")
	}
	return strings.Join(parts, ", ")
}

// auditChange writes the app's change of a group to the audit log as the
// caller's (nothing when cl is nil: a dashboard change writes its own).
func (g *Groups) auditChange(tx *Tx, ed *groupEdit, cl *ClientInfo, what string, now int64) error {
	if cl == nil || what == "" {
		return nil
	}
	var phone string
	if err := tx.Model(&User{}).Where("id = ?", ed.callerID).Pluck("phone", &phone).Error; err != nil {
		return err
	}
	return audit(tx.DB, apiEntry(now, EventGroupChanged, phone, &ed.callerID, *cl, groupAuditPrefix(ed.grp.ID)+what))
}
