package models

import (
	"cmp"
	"context"
	"slices"
)

// ChangedGroups is the delta sync's share of groups: the caller's groups
// that changed in or after the second sinceSec (all when 0), and the groups
// they left, were removed from or saw deleted in that time, whose members
// no longer list them (the old clients then mark the group "not a
// member"). The boundary second is included, as for contacts. Oldest
// change first.
func (g *Groups) ChangedGroups(ctx context.Context, userID, sinceSec int64) ([]GroupView, error) {
	since := max(sinceSec, 0) * 1000
	tx := g.db.Read.WithContext(ctx)
	var groups []Group
	err := tx.Raw(`SELECT g.* FROM group_members m JOIN chat_groups g ON g.id = m.group_id
			WHERE m.user_id = ? AND g.changed_at >= ? AND g.deleted_at IS NULL
		UNION SELECT g.* FROM group_departures d JOIN chat_groups g ON g.id = d.group_id
			WHERE d.user_id = ? AND d.left_at >= ?`, userID, since, userID, since).Scan(&groups).Error
	if err != nil || len(groups) == 0 {
		return nil, err
	}
	slices.SortFunc(groups, func(a, b Group) int {
		return cmp.Or(cmp.Compare(a.ChangedAt, b.ChangedAt), cmp.Compare(a.ID, b.ID))
	})
	views := make([]GroupView, len(groups))
	at := make(map[int64]int, len(groups))
	ids := make([]int64, len(groups))
	for i, grp := range groups {
		views[i].Group, at[grp.ID], ids[i] = grp, i, grp.ID
	}
	for _, part := range chunks(ids, 10_000) {
		var ms []struct {
			GroupID int64
			GroupMember
		}
		err := tx.Raw(`SELECT m.group_id, m.user_id, u.phone, m.role, m.added_at FROM group_members m JOIN users u ON u.id = m.user_id
			WHERE m.group_id IN ? ORDER BY m.group_id, m.role DESC, m.added_at, m.user_id`, part).Scan(&ms).Error
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			v := &views[at[m.GroupID]]
			v.Members = append(v.Members, m.GroupMember)
		}
	}
	return views, nil
}
