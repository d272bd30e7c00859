package models

import (
	"context"
	"fmt"
)

// EventAdminDeleteGroup: an administrator deleted a group.
const EventAdminDeleteGroup = "admin_delete_group"

// AdminDelete deletes a group from the dashboard as its owner's
// delgroup would (its members are told, its photo removed, mesibo's group
// deleted in mesibo mode), audited with the admin as actor and the owner
// as the user.
func (g *Groups) AdminDelete(ctx context.Context, gid int64, a *Admin, cl ClientInfo) (*Group, error) {
	now := toMillis(g.clock.Now())
	return WriteTx(ctx, g.db, func(tx *Tx) (*Group, error) {
		grp, err := lockedGroup(tx.DB, gid)
		if err != nil {
			return nil, ErrNotFound
		}
		v, err := groupView(tx.DB, grp)
		if err != nil {
			return nil, err
		}
		if len(v.Members) == 0 {
			return nil, ErrNotFound
		}
		owner := v.Members[0] // members are listed owner first
		ed, err := g.load(tx.DB, owner.UserID, gid, GroupRoleMember)
		if err != nil {
			return nil, err
		}
		if err := g.deleteGroup(tx, ed, now); err != nil {
			return nil, err
		}
		detail := fmt.Sprintf("%s%q deleted, %s removed", groupAuditPrefix(gid), v.Name, Plural(len(v.Members), "member", "members"))
		return grp, audit(tx.DB, adminEntry(now, a, EventAdminDeleteGroup, owner.Phone, &owner.UserID, cl, detail))
	})
}
