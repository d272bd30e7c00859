package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
		detail := fmt.Sprintf("%s%q deleted, %s removed", groupAuditPrefix(gid), v.Name, plural(len(v.Members), "member", "members"))
		return grp, audit(tx.DB, adminEntry(now, a, EventAdminDeleteGroup, owner.Phone, &owner.UserID, cl, detail))
	})
}

// Audit types of the dashboard's other group changes.
const (
	EventAdminCreateGroup  = "admin_create_group"
	EventAdminRenameGroup  = "admin_rename_group"
	EventAdminGroupMembers = "admin_group_members"
	EventAdminGroupRoles   = "admin_group_roles"
)

// AdminCreate makes a group from the dashboard: owner (a user's number in
// E.164) owns it, the people of numbers (E.164, see ParseNumbers) are its
// members, with the limits and the notices of setgroup.
func (g *Groups) AdminCreate(ctx context.Context, ownerPhone, name string, numbers []string, a *Admin, cl ClientInfo) (*GroupView, error) {
	now := toMillis(g.clock.Now())
	return WriteTx(ctx, g.db, func(tx *Tx) (*GroupView, error) {
		owner, err := userByPhone(tx.DB, ownerPhone)
		if err != nil {
			return nil, err
		}
		if numbers == nil {
			numbers = []string{}
		}
		v, err := g.create(tx, owner, GroupChange{Name: &name, Members: numbers}, now)
		if err != nil {
			return nil, err
		}
		detail := fmt.Sprintf("%s%q created, %s", groupAuditPrefix(v.ID), v.Name, plural(len(v.Members), "member", "members"))
		return v, audit(tx.DB, adminEntry(now, a, EventAdminCreateGroup, owner.Phone, &owner.ID, cl, detail))
	})
}

// AdminRename renames a group from the dashboard.
func (g *Groups) AdminRename(ctx context.Context, gid int64, name string, a *Admin, cl ClientInfo) (*GroupView, error) {
	return g.adminEdit(ctx, gid, a, cl, EventAdminRenameGroup, nil, nil, GroupChange{Name: &name},
		func(v *GroupView) string { return fmt.Sprintf("renamed %q", v.Name) })
}

// AdminEditMembers adds (remove false) or removes the people of numbers
// (E.164) from the dashboard, as the owner's editmembers would.
func (g *Groups) AdminEditMembers(ctx context.Context, gid int64, numbers []string, remove bool, a *Admin, cl ClientInfo) (*GroupView, error) {
	verb := "added"
	if remove {
		verb = "removed"
	}
	return g.adminEdit(ctx, gid, a, cl, EventAdminGroupMembers, numbers, membersChange(remove), GroupChange{},
		func(v *GroupView) string {
			return fmt.Sprintf("%s %s: %s; now %s", plural(len(numbers), "number", "numbers"), verb, strings.Join(numbers, ", "),
				plural(len(v.Members), "member", "members"))
		})
}

// AdminSetRole makes the members among numbers (E.164) admins (admin
// true) or members again from the dashboard, as the owner's setadmin
// would. The owner's role does not change.
func (g *Groups) AdminSetRole(ctx context.Context, gid int64, numbers []string, admin bool, a *Admin, cl ClientInfo) (*GroupView, error) {
	role := "member"
	if admin {
		role = "admin"
	}
	return g.adminEdit(ctx, gid, a, cl, EventAdminGroupRoles, numbers, rolesChange(admin), GroupChange{},
		func(*GroupView) string { return fmt.Sprintf("made %s: %s", role, strings.Join(numbers, ", ")) })
}

// adminEdit runs a dashboard change of a group as its owner would make it
// (the owner is the notices' actor), audited with the admin as actor. The
// owner is read first and the rows locked in the lock order (users',
// then the group's); if the group passed to another owner meanwhile (a
// hand-over), the owner read is no longer the owner and the change is
// refused (GroupNotAllowed), for the admin to try again.
func (g *Groups) adminEdit(ctx context.Context, gid int64, a *Admin, cl ClientInfo, typ string, numbers []string,
	change func(ed *groupEdit, users []GroupMember, missing [][]byte) error, ch GroupChange, detail func(v *GroupView) string) (*GroupView, error) {
	now := toMillis(g.clock.Now())
	if change == nil {
		change = func(*groupEdit, []GroupMember, [][]byte) error { return nil }
	}
	return WriteTx(ctx, g.db, func(tx *Tx) (*GroupView, error) {
		var owner GroupMember
		err := tx.Raw(`SELECT m.user_id, u.phone FROM group_members m JOIN users u ON u.id = m.user_id
			JOIN chat_groups g ON g.id = m.group_id WHERE m.group_id = ? AND m.role = ? AND g.deleted_at IS NULL`, gid, GroupRoleOwner).Scan(&owner).Error
		if err != nil {
			return nil, err
		}
		if owner.UserID == 0 {
			return nil, ErrNotFound
		}
		v, err := g.editTx(tx, owner.UserID, gid, GroupRoleOwner, numbers, change, ch, now)
		if err != nil {
			var ge *GroupError
			if errors.As(err, &ge) && ge.Refusal == GroupNotMember {
				return nil, ErrNotFound
			}
			return nil, err
		}
		return v, audit(tx.DB, adminEntry(now, a, typ, owner.Phone, &owner.UserID, cl, groupAuditPrefix(gid)+detail(v)))
	})
}
