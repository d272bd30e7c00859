package models

import (
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// The members of a group change: who is looked up and locked, the limits,
// and the rows written.

// checkLimits leaves out the people to add who are in as many groups as
// one may be (their numbers go to refused) and refuses a change that would
// pass the group's member limit. The rows of the people added were locked
// before the group's (lockedUsersByPhone), so two groups adding one person
// at once count each other's membership.
func (g *Groups) checkLimits(tx *gorm.DB, ed *groupEdit) error {
	if len(ed.added) > 0 {
		ids := make([]int64, len(ed.added))
		for i, m := range ed.added {
			ids[i] = m.UserID
		}
		refuse := map[int64]bool{}
		// Who may not be added by the caller (groupadd): nobody, or their
		// contacts only and the caller is not in their address book.
		for _, part := range chunks(ids, 10_000) {
			var closed []int64
			among, list := inList(tx, "u.id", part)
			err := tx.Raw(`SELECT u.id FROM users u WHERE `+among+` AND u.id <> ? AND (u.groupadd = 'nobody' OR (u.groupadd = 'contacts'
				AND NOT EXISTS (SELECT 1 FROM address_book b JOIN users c ON c.id = ? WHERE b.owner_id = u.id AND b.contact_hash = c.phone_hash)))`,
				list, ed.callerID, ed.callerID).Scan(&closed).Error
			if err != nil {
				return err
			}
			for _, id := range closed {
				refuse[id] = true
			}
		}
		for _, part := range chunks(ids, 10_000) {
			var counts []struct {
				UserID int64
				N      int64
			}
			among, list := inList(tx, "user_id", part)
			err := tx.Raw("SELECT user_id, COUNT(*) AS n FROM group_members WHERE "+among+" GROUP BY user_id", list).Scan(&counts).Error
			if err != nil {
				return err
			}
			for _, c := range counts {
				if c.N >= int64(g.cfg.MaxPerUser) {
					refuse[c.UserID] = true
				}
			}
		}
		if len(refuse) > 0 {
			kept := ed.added[:0]
			for _, m := range ed.added {
				if refuse[m.UserID] && m.Role != GroupRoleOwner {
					ed.refused = append(ed.refused, m.Phone)
					continue
				}
				kept = append(kept, m)
			}
			ed.added = kept
		}
	}
	if n := len(ed.members) - len(ed.removed) + len(ed.added) + len(ed.invites) + len(ed.invite) - len(ed.uninvite); n > g.cfg.MaxMembers {
		return &GroupError{Refusal: GroupTooLarge, Message: fmt.Sprintf("A group has at most %d members; this change would make %d.", g.cfg.MaxMembers, n)}
	}
	return nil
}

// writeMembers stores the edit's member changes at changedAt, marked with
// its notices (recordGroupNotices): the people removed are recorded as
// departed, told by the change notice (the delta sync tells them once);
// the people added, but the caller, are told by the "added" notice and
// lose any record of a departure.
func (g *Groups) writeMembers(tx *gorm.DB, ed *groupEdit, changedAt int64, notices *groupNotices) error {
	for _, part := range chunks(ed.removed, 10_000) {
		among, list := inList(tx, "user_id", part)
		err := tx.Exec(`INSERT INTO group_departures (group_id, user_id, left_at, added_event, left_event)
			SELECT group_id, user_id, ?, added_event, ? FROM group_members WHERE group_id = ? AND `+among+`
			ON CONFLICT (group_id, user_id) DO UPDATE SET left_at = excluded.left_at, added_event = excluded.added_event, left_event = excluded.left_event`,
			changedAt, notices.change.ID, ed.grp.ID, list).Error
		if err != nil {
			return err
		}
		if err := tx.Exec("DELETE FROM group_members WHERE group_id = ? AND "+among, ed.grp.ID, list).Error; err != nil {
			return err
		}
	}
	if err := insertMembers(tx, ed, changedAt, notices); err != nil {
		return err
	}
	for _, h := range ed.invite {
		err := tx.Exec("INSERT INTO group_invites (group_id, phone_hash, added_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", ed.grp.ID, h, changedAt).Error
		if err != nil {
			return err
		}
	}
	for _, h := range ed.uninvite {
		if err := tx.Exec("DELETE FROM group_invites WHERE group_id = ? AND phone_hash = ?", ed.grp.ID, h).Error; err != nil {
			return err
		}
	}
	for id, role := range ed.roles {
		if err := tx.Exec("UPDATE group_members SET role = ? WHERE group_id = ? AND user_id = ?", role, ed.grp.ID, id).Error; err != nil {
			return err
		}
	}
	return nil
}

// insertMembers writes the rows of the people the edit adds, and removes
// any record of their departure. SQLite: multi-row VALUES, 500 rows a
// statement. PostgreSQL: one statement for all of them, the ids and roles
// as two array parameters rather than five parameters per row.
func insertMembers(tx *gorm.DB, ed *groupEdit, changedAt int64, notices *groupNotices) error {
	if len(ed.added) == 0 {
		return nil
	}
	if onPostgres(tx) {
		ids, roles := make([]int64, len(ed.added)), make([]int64, len(ed.added))
		for i, m := range ed.added {
			ids[i], roles[i] = m.UserID, int64(m.Role)
		}
		// Nobody is told they added themselves: the caller's row has no added_event.
		err := tx.Exec(`INSERT INTO group_members (group_id, user_id, role, added_at, added_event)
			SELECT ?, m.user_id, m.role, ?, CASE WHEN m.user_id = ? THEN NULL ELSE ?::bigint END
			FROM unnest(?::bigint[], ?::bigint[]) AS m (user_id, role)`,
			ed.grp.ID, changedAt, ed.callerID, notices.addedEvent(), pgArray[int64](ids), pgArray[int64](roles)).Error
		if err != nil {
			return err
		}
		return tx.Exec("DELETE FROM group_departures WHERE group_id = ? AND user_id = ANY(?)", ed.grp.ID, pgArray[int64](ids)).Error
	}
	for _, part := range chunks(ed.added, 500) {
		var sb strings.Builder
		sb.WriteString("INSERT INTO group_members (group_id, user_id, role, added_at, added_event) VALUES ")
		vals := make([]any, 0, 5*len(part))
		ids := make([]int64, len(part))
		for i, m := range part {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString("(?,?,?,?,?)")
			told := notices.addedEvent()
			if m.UserID == ed.callerID {
				told = nil // nobody is told they added themselves
			}
			vals = append(vals, ed.grp.ID, m.UserID, m.Role, changedAt, told)
			ids[i] = m.UserID
		}
		if err := tx.Exec(sb.String(), vals...).Error; err != nil {
			return err
		}
		if err := tx.Exec("DELETE FROM group_departures WHERE group_id = ? AND user_id IN ?", ed.grp.ID, ids).Error; err != nil {
			return err
		}
	}
	return nil
}

// lockedUsersByPhone is usersByPhone with the rows of the users and of the
// caller locked on PostgreSQL (lockUsers, in the order of their ids). A
// caller whose account is gone is not a member of anything.
func (g *Groups) lockedUsersByPhone(tx *gorm.DB, callerID int64, numbers []string) ([]GroupMember, [][]byte, error) {
	users, missing, err := g.usersByPhone(tx, numbers)
	if err != nil {
		return nil, nil, err
	}
	ids := []int64{callerID}
	for _, u := range users {
		if u.UserID != callerID {
			ids = append(ids, u.UserID)
		}
	}
	if _, err := lockUsers(tx, ids...); err != nil {
		return nil, nil, err
	}
	if err := lockUser(tx, callerID); err != nil { // held already: this reads whether the row is there
		if errors.Is(err, ErrNotFound) {
			return nil, nil, errNotMember
		}
		return nil, nil, err
	}
	return users, missing, nil
}

// usersByPhone returns the users among the E.164 numbers, and the keyed
// hashes of the other numbers. An account awaiting its owner's first
// sign-in is not a user yet: its number is invited, and the sign-in joins
// the group.
func (g *Groups) usersByPhone(tx *gorm.DB, numbers []string) ([]GroupMember, [][]byte, error) {
	var out []GroupMember
	for _, part := range chunks(numbers, 10_000) {
		var us []GroupMember
		among, list := inList(tx, "phone", part)
		if err := tx.Raw("SELECT id AS user_id, phone FROM users WHERE "+among+" AND NOT awaiting_signin ORDER BY id", list).Scan(&us).Error; err != nil {
			return nil, nil, err
		}
		out = append(out, us...)
	}
	found := make(map[string]bool, len(out))
	for _, u := range out {
		found[u.Phone] = true
	}
	var missing [][]byte
	for _, e := range numbers {
		if !found[e] {
			missing = append(missing, g.hasher.Hash(e))
		}
	}
	return out, missing, nil
}
