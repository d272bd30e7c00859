package models

import (
	"slices"
)

// leaveGroupsOfDeletedUser takes a user whose account is being deleted out
// of their groups, in the deletion's transaction, after the user's row is
// locked (the lock order: users' rows before groups' rows). A group they
// owned passes to its oldest admin, else its oldest member; a group left
// empty is deleted, and its photo's name returned for the caller to remove
// after the commit. The remaining members are told. Every account
// deletion calls it.
func leaveGroupsOfDeletedUser(tx *Tx, clock Clock, events *Events, userID int64) (photos []string, err error) {
	var gids []int64
	if err := tx.Raw("SELECT group_id FROM group_members WHERE user_id = ?", userID).Scan(&gids).Error; err != nil {
		return nil, err
	}
	slices.Sort(gids)
	now := toMillis(clock.Now())
	var changed []*GroupView
	for _, gid := range gids {
		grp, err := lockedGroup(tx.DB, gid)
		if err == errNotMember {
			continue
		}
		if err != nil {
			return nil, err
		}
		v, err := groupView(tx.DB, grp)
		if err != nil {
			return nil, err
		}
		role := v.RoleOf(userID)
		if role < 0 {
			continue // left meanwhile
		}
		changedAt, err := groupChangeTime(tx.DB, clock, grp, now)
		if err != nil {
			return nil, err
		}
		if err := tx.Exec("DELETE FROM group_members WHERE group_id = ? AND user_id = ?", gid, userID).Error; err != nil {
			return nil, err
		}
		upd := map[string]any{"changed_at": changedAt}
		if heir, ok := groupHeir(v, userID); role == GroupRoleOwner && ok {
			if err := tx.Exec("UPDATE group_members SET role = ? WHERE group_id = ? AND user_id = ?", GroupRoleOwner, gid, heir).Error; err != nil {
				return nil, err
			}
		} else if len(v.Members) == 1 {
			upd["deleted_at"], upd["photo"], upd["thumbnail"] = now, "", ""
			if grp.Photo != "" {
				photos = append(photos, grp.Photo)
			}
		}
		if err := tx.Model(&Group{}).Where("id = ?", gid).Updates(upd).Error; err != nil {
			return nil, err
		}
		grp.ChangedAt = changedAt
		after, err := groupView(tx.DB, grp)
		if err != nil {
			return nil, err
		}
		if len(after.Members) > 0 {
			changed = append(changed, after)
		}
	}
	// Last: the notices take lockEventOrder, after which no row is locked.
	for _, v := range changed {
		if err := announceGroup(tx.DB, v, v.Members[0].UserID, nil, nil, now); err != nil {
			return nil, err
		}
	}
	if len(changed) > 0 && events != nil {
		tx.OnCommit(events.Wake)
	}
	return photos, nil
}

// groupHeir is who owns the group after its owner: the admin added first,
// else the member added first (members are listed by role, then by the
// time they were added).
func groupHeir(v *GroupView, ownerID int64) (int64, bool) {
	for _, m := range v.Members {
		if m.UserID != ownerID {
			return m.UserID, true
		}
	}
	return 0, false
}
