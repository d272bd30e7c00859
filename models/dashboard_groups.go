package models

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// The dashboard's groups page and group page.

// GroupRow is a group as the groups page lists it.
type GroupRow struct {
	ID         int64
	Name       string
	Members    int
	OwnerID    int64
	OwnerPhone string
	CreatedAt  int64
	ChangedAt  int64
	DeletedAt  *int64
}

// GroupFilter is the groups page's filter, sort and page.
type GroupFilter struct {
	Name string // part of the name, any case
	Sort string // "changed" (last change first, the default) or "name"
	// After is the page's start: the previous page's last row (its
	// AfterKey), "" for the first page.
	After string
}

// AfterKey is the keyset cursor after this row for the sort.
func (r GroupRow) AfterKey(sort string) string {
	if sort == "name" {
		return strconv.FormatInt(r.ID, 10) + ":" + r.Name
	}
	return strconv.FormatInt(r.ID, 10) + ":" + strconv.FormatInt(r.ChangedAt, 10)
}

// Groups returns a page of groups (at most limit) and whether more follow,
// deleted ones included (marked), by keyset: each page starts after the
// last row of the one before.
func (d *Dashboard) Groups(ctx context.Context, f GroupFilter, limit int) ([]GroupRow, bool, error) {
	q := `SELECT g.id, g.name, g.created_at, g.changed_at, g.deleted_at,
			(SELECT COUNT(*) FROM group_members m WHERE m.group_id = g.id) AS members,
			COALESCE((SELECT m.user_id FROM group_members m WHERE m.group_id = g.id AND m.role = 2), 0) AS owner_id,
			COALESCE((SELECT u.phone FROM group_members m JOIN users u ON u.id = m.user_id WHERE m.group_id = g.id AND m.role = 2), '') AS owner_phone
		FROM chat_groups g WHERE 1 = 1`
	var args []any
	if n := strings.TrimSpace(f.Name); n != "" {
		q += ` AND lower(g.name) LIKE ? ESCAPE '\'`
		args = append(args, "%"+likeEscape(strings.ToLower(n))+"%")
	}
	idText, key, hasAfter := strings.Cut(f.After, ":")
	afterID, err := strconv.ParseInt(idText, 10, 64)
	hasAfter = hasAfter && err == nil
	order := ` ORDER BY g.changed_at DESC, g.id DESC`
	if f.Sort == "name" {
		order = ` ORDER BY g.name, g.id`
		if hasAfter {
			q += ` AND (g.name > ? OR (g.name = ? AND g.id > ?))`
			args = append(args, key, key, afterID)
		}
	} else if at, err := strconv.ParseInt(key, 10, 64); hasAfter && err == nil {
		q += ` AND (g.changed_at < ? OR (g.changed_at = ? AND g.id < ?))`
		args = append(args, at, at, afterID)
	}
	q += order + ` LIMIT ?`
	args = append(args, limit+1)
	var rows []GroupRow
	if err := d.db.Read.WithContext(ctx).Raw(q, args...).Scan(&rows).Error; err != nil {
		return nil, false, err
	}
	if len(rows) > limit {
		return rows[:limit], true, nil
	}
	return rows, false, nil
}

// GroupDetail is the group page: the group, its members with their roles
// and the history of its changes, in the app and on the dashboard (from
// the audit log).
type GroupDetail struct {
	GroupView
	History []AuditEntry
}

// groupAuditPrefix starts the detail of every audit entry about a group:
// the group page finds its history by it.
func groupAuditPrefix(gid int64) string { return fmt.Sprintf("group %d ", gid) }

// GroupDetail returns a group (deleted ones too) with its members and
// history.
func (d *Dashboard) GroupDetail(ctx context.Context, gid int64) (*GroupDetail, error) {
	tx := d.db.Read.WithContext(ctx)
	var grp Group
	err := tx.Where("id = ?", gid).Take(&grp).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	v, err := groupView(tx, &grp)
	if err != nil {
		return nil, err
	}
	det := &GroupDetail{GroupView: *v}
	err = tx.Where("detail LIKE ? ESCAPE '\\'", likeEscape(groupAuditPrefix(gid))+"%").Order("id DESC").Limit(100).Find(&det.History).Error
	return det, err
}

// UserGroup is one group of a user, for the user page.
type UserGroup struct {
	ID      int64
	Name    string
	Role    int
	Members int
}

// UserGroups returns the groups a user is in, by name.
func (d *Dashboard) UserGroups(ctx context.Context, userID int64) ([]UserGroup, error) {
	var out []UserGroup
	err := d.db.Read.WithContext(ctx).Raw(`SELECT g.id, g.name, m.role,
			(SELECT COUNT(*) FROM group_members x WHERE x.group_id = g.id) AS members
		FROM group_members m JOIN chat_groups g ON g.id = m.group_id WHERE m.user_id = ? ORDER BY g.name, g.id`, userID).Scan(&out).Error
	return out, err
}
