package models

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Roles of a group's members, as the old backend numbered them.
const (
	GroupRoleMember = 0
	GroupRoleAdmin  = 1
	GroupRoleOwner  = 2 // one per group: its creator, until their account is deleted
)

// GroupsConfig holds the limits of groups.
type GroupsConfig struct {
	MaxMembers int // members of one group, the owner included
	MaxPerUser int // groups one user may be a member of
	// Mesibo: groups are made and changed at mesibo too (mesibo mode).
	Mesibo bool
}

// DefaultGroupsConfig allows 1,024 members a group and 500 groups a user.
func DefaultGroupsConfig() GroupsConfig {
	return GroupsConfig{MaxMembers: 1024, MaxPerUser: 500}
}

// Group is a group's row. A deleted group keeps its row without members,
// so that the delta sync can tell its former members.
type Group struct {
	ID        int64
	Name      string
	Photo     string
	Thumbnail string
	CreatedAt int64 `gorm:"autoCreateTime:false"`
	ChangedAt int64
	DeletedAt *int64
	MesiboGID string `gorm:"column:mesibo_gid"`
}

// TableName tells GORM the table.
func (Group) TableName() string { return "chat_groups" }

// TS is the protocol's `ts` of the group: unix seconds of its last change.
func (g *Group) TS() int64 { return g.ChangedAt / 1000 }

// GroupMember is one member as the protocol lists them.
type GroupMember struct {
	UserID  int64
	Phone   string // E.164
	Role    int
	AddedAt int64
}

// GroupView is a group with its members, owner first, then the admins, then
// the members, each in the order they were added.
type GroupView struct {
	Group
	Members []GroupMember
	// Refused are the numbers (E.164) of people who could not be added:
	// they are in as many groups as one may be, or their groupadd setting
	// does not let the caller add them.
	Refused []string
}

// MembersField is the protocol's `members`: "<admincount>:<phones>", the
// owner and the admins first, numbers as digits without '+'.
func (v *GroupView) MembersField() string {
	admins := 0
	var sb strings.Builder
	for i, m := range v.Members {
		if m.Role >= GroupRoleAdmin {
			admins++
		}
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(strings.TrimPrefix(m.Phone, "+"))
	}
	return strconv.Itoa(admins) + ":" + sb.String()
}

// RoleOf is the role of the user in the group, or -1 for a non-member.
func (v *GroupView) RoleOf(userID int64) int {
	for _, m := range v.Members {
		if m.UserID == userID {
			return m.Role
		}
	}
	return -1
}

// GroupRefusal is why a group op was refused; handlers give each its
// protocol code.
type GroupRefusal int

const (
	// GroupNotMember: the group does not exist, was deleted, or the caller
	// is not in it (the three answer alike: a gid reveals nothing).
	GroupNotMember GroupRefusal = iota + 1
	// GroupNotAllowed: the caller's role does not allow the change.
	GroupNotAllowed
	// GroupTooLarge: a limit of members or of groups would be passed.
	GroupTooLarge
)

// GroupError is a refused group op; nothing was changed.
type GroupError struct {
	Refusal GroupRefusal
	Message string
}

func (e *GroupError) Error() string { return e.Message }

var errNotMember = &GroupError{Refusal: GroupNotMember, Message: "You are not a member of this group."}

func errNotAllowed(msg string) *GroupError {
	return &GroupError{Refusal: GroupNotAllowed, Message: msg}
}

// Groups runs the group ops: the old backend's five, and group photos and
// names through profile and upload.
type Groups struct {
	db     *DB
	clock  Clock
	events *Events
	photos *Photos
	hasher *PhoneHasher // the numbers of members who are not users are kept as its hashes
	norm   *normalizer  // parsed numbers, cached: groups' members are mostly numbers seen before
	cfg    GroupsConfig
}

// NewGroups returns the groups service.
func NewGroups(db *DB, clock Clock, events *Events, photos *Photos, hasher *PhoneHasher, cfg GroupsConfig) *Groups {
	d := DefaultGroupsConfig()
	if cfg.MaxMembers <= 0 {
		cfg.MaxMembers = d.MaxMembers
	}
	if cfg.MaxPerUser <= 0 {
		cfg.MaxPerUser = d.MaxPerUser
	}
	return &Groups{db: db, clock: clock, events: events, photos: photos, hasher: hasher, norm: newNormalizer(groupsParseCache), cfg: cfg}
}

// groupsParseCache is how many parsed numbers the groups keep (about 100
// bytes each).
const groupsParseCache = 50_000

// Get returns the group as the caller, a member, sees it.
func (g *Groups) Get(ctx context.Context, callerID, gid int64) (*GroupView, error) {
	tx := g.db.Read.WithContext(ctx)
	var grp Group
	err := tx.Where("id = ? AND deleted_at IS NULL", gid).Take(&grp).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, errNotMember
	}
	if err != nil {
		return nil, err
	}
	v, err := groupView(tx, &grp)
	if err != nil {
		return nil, err
	}
	if v.RoleOf(callerID) < 0 {
		return nil, errNotMember
	}
	return v, nil
}

// groupView reads the group's members.
func groupView(tx *gorm.DB, grp *Group) (*GroupView, error) {
	v := &GroupView{Group: *grp}
	err := tx.Raw(`SELECT m.user_id, u.phone, m.role, m.added_at FROM group_members m JOIN users u ON u.id = m.user_id
		WHERE m.group_id = ? ORDER BY m.role DESC, m.added_at, m.user_id`, grp.ID).Scan(&v.Members).Error
	return v, err
}

// lockedGroup reads a group that exists, its row locked on PostgreSQL until
// the end of tx: every change of a group takes its row first, so changes
// of one group take turns across instances (SQLite's writer runs them one
// at a time). errNotMember: no such group, or deleted.
func lockedGroup(tx *gorm.DB, gid int64) (*Group, error) {
	q := tx
	if onPostgres(tx) {
		q = q.Clauses(clause.Locking{Strength: "NO KEY UPDATE"})
	}
	var grp Group
	err := q.Where("id = ? AND deleted_at IS NULL", gid).Take(&grp).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, errNotMember
	}
	return &grp, err
}

// groupChangeTime is the change time to store for a group changed at now
// (unix ms): never before the latest group change stored nor before the
// clock's high-water mark (replies' ts), and after the group's own last
// change, so that a delta sync from any ts it was given misses nothing
// (the rule of changeTime for profiles).
func groupChangeTime(tx *gorm.DB, clock Clock, grp *Group, now int64) (int64, error) {
	var latest struct{ Max *int64 }
	if err := tx.Raw("SELECT MAX(changed_at) AS max FROM chat_groups").Scan(&latest).Error; err != nil {
		return 0, err
	}
	if hw, ok := clock.(*HighWaterClock); ok {
		now = max(now, toMillis(hw.Latest()))
	}
	if latest.Max != nil {
		now = max(now, *latest.Max)
	}
	return max(now, grp.ChangedAt+1), nil
}
