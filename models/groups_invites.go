package models

import (
	"slices"
)

// joinInvitedGroups makes a user who just signed up, or just moved to a
// new number (changephone), a member of the groups their number was added
// to while it was no user's (group_invites, by the keyed hash of the
// number), up to maxGroups in all (the groups they are in already count),
// in the sign-up's or the change's transaction: the user's row first, then
// the groups' rows (the lock order). Each group's members get the change
// notice and the new member "You have been added to group NAME"; in mesibo
// mode the member is added at mesibo too. Invites past maxGroups, to
// groups deleted since and to groups the user is in already are dropped.
func joinInvitedGroups(tx *Tx, clock Clock, u *User, maxGroups int, mesibo bool, now int64) error {
	if u.PhoneHash == nil {
		return nil
	}
	var gids []int64
	if err := tx.Raw(`SELECT group_id FROM group_invites WHERE phone_hash = ?
		AND group_id NOT IN (SELECT group_id FROM group_members WHERE user_id = ?)`, u.PhoneHash, u.ID).Scan(&gids).Error; err != nil {
		return err
	}
	if len(gids) == 0 {
		return tx.Exec("DELETE FROM group_invites WHERE phone_hash = ?", u.PhoneHash).Error
	}
	var in int
	if err := tx.Raw("SELECT COUNT(*) FROM group_members WHERE user_id = ?", u.ID).Scan(&in).Error; err != nil {
		return err
	}
	slices.Sort(gids)
	var joined []*GroupView
	for _, gid := range gids {
		if in+len(joined) >= maxGroups {
			break
		}
		grp, err := lockedGroup(tx.DB, gid)
		if err == errNotMember {
			continue
		}
		if err != nil {
			return err
		}
		changedAt, err := groupChangeTime(tx.DB, clock, grp, now)
		if err != nil {
			return err
		}
		err = tx.Exec("INSERT INTO group_members (group_id, user_id, role, added_at) VALUES (?, ?, ?, ?)", gid, u.ID, GroupRoleMember, changedAt).Error
		if err != nil {
			return err
		}
		if err := tx.Model(&Group{}).Where("id = ?", gid).Update("changed_at", changedAt).Error; err != nil {
			return err
		}
		grp.ChangedAt = changedAt
		v, err := groupView(tx.DB, grp)
		if err != nil {
			return err
		}
		joined = append(joined, v)
		if mesibo {
			job := MesiboJob{Op: MesiboJobGroupEditMembers, GID: gid, Members: mesiboAddresses([]string{u.Phone})}
			if err := queueMesiboGroupJob(tx.DB, job, now); err != nil {
				return err
			}
		}
	}
	if err := tx.Exec("DELETE FROM group_invites WHERE phone_hash = ?", u.PhoneHash).Error; err != nil {
		return err
	}
	// Last: the notices take lockEventOrder, after which no row is locked.
	for _, v := range joined {
		if err := announceGroup(tx.DB, v, u.ID, []int64{u.ID}, nil, now); err != nil {
			return err
		}
	}
	return nil
}
