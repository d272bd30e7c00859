package models

import (
	"encoding/json"

	"gorm.io/gorm"
)

// Group notices travel the events' path (events.go): written in the
// change's transaction, fanned out in the background, in order, once per
// recipient, to the live streams, mesibo messages and whatever else the
// fan-out feeds.

// groupRecipients is the fan-out's query of a group event's recipients
// after its cursor (the chunk size is its last argument, added by the
// caller). The fan-out runs after later changes may have committed, so
// membership is read by event ids, not as it is now: EventGroupAdded goes
// to the members it marked (and who have left since); EventGroup to whoever was a member when it
// was written (added by an earlier notice, or never told: the creator)
// and was not yet taken out, the change that took them out included. Who
// is added hears of that change by the "added" notice alone.
func groupRecipients(ev *Event) (string, []any) {
	if ev.Type == EventGroupAdded {
		return `SELECT r.user_id AS owner_id, u.phone FROM (
				SELECT user_id FROM group_members WHERE group_id = ? AND added_event = ?
				UNION SELECT user_id FROM group_departures WHERE group_id = ? AND added_event = ?) r
			JOIN users u ON u.id = r.user_id WHERE r.user_id > ? ORDER BY r.user_id LIMIT ?`,
			[]any{*ev.GroupID, ev.ID, *ev.GroupID, ev.ID, ev.FanoutCursor}
	}
	return `SELECT r.user_id AS owner_id, u.phone FROM (
			SELECT user_id FROM group_members WHERE group_id = ? AND (added_event IS NULL OR added_event < ?)
			UNION SELECT user_id FROM group_departures WHERE group_id = ? AND left_event >= ? AND (added_event IS NULL OR added_event < ?)) r
		JOIN users u ON u.id = r.user_id WHERE r.user_id > ? ORDER BY r.user_id LIMIT ?`,
		[]any{*ev.GroupID, ev.ID, *ev.GroupID, ev.ID, ev.ID, ev.FanoutCursor}
}

// groupNotice is the old backend's group notice: a profile notice with
// gid set, phone "" and the members in status's place.
func groupNotice(v *GroupView) Notice {
	return Notice{Name: v.Name, GID: int(v.ID), Status: v.MembersField(), Photo: v.Photo, TS: v.TS(), TN: v.Thumbnail}
}

// groupNotices are the events of one change of a group: the change notice
// to its members and to those it removed, and, when it adds people, "You
// have been added to group NAME" to them. They are numbered (recordGroupNotices)
// before the change's member rows are written, so that the rows name them
// as they are inserted (added_event, left_event): marking a thousand rows
// afterwards cost PostgreSQL as much again as inserting them (an UPDATE of
// rows inserted in the same transaction re-runs their foreign-key checks).
// Their bodies show the group as the change left it, so they are written
// last (fill).
type groupNotices struct {
	change *Event
	added  *Event // nil when the change tells nobody they were added
}

// recordGroupNotices numbers the notices of a change of group gid made by
// actorID (withAdded: it adds people to be told). It takes lockEventOrder,
// held to commit: after it, the transaction locks no row that it does not
// hold already (the group's, its members' and the actor's), so no
// transaction waiting for lockEventOrder holds a row this one waits for.
func recordGroupNotices(tx *gorm.DB, gid, actorID int64, withAdded bool, now int64) (*groupNotices, error) {
	n := &groupNotices{change: &Event{Type: EventGroup, UserID: actorID, GroupID: &gid, CreatedAt: now}}
	if err := recordEvent(tx, n.change); err != nil {
		return nil, err
	}
	if !withAdded {
		return n, nil
	}
	n.added = &Event{Type: EventGroupAdded, UserID: actorID, GroupID: &gid, CreatedAt: now}
	return n, recordEvent(tx, n.added)
}

// addedEvent is the added_event of a member row written by the change.
func (n *groupNotices) addedEvent() *int64 {
	if n.added == nil {
		return nil
	}
	return &n.added.ID
}

// fill writes the notices' bodies: the group as the change left it (v).
func (n *groupNotices) fill(tx *gorm.DB, v *GroupView) error {
	body, err := json.Marshal(groupNotice(v))
	if err != nil {
		return err
	}
	if err := tx.Model(&Event{}).Where("id = ?", n.change.ID).Update("body", string(body)).Error; err != nil || n.added == nil {
		return err
	}
	notice := groupNotice(v)
	notice.Subject = "You have been added to group " + v.Name
	notice.Msg = notice.Subject
	if body, err = json.Marshal(notice); err != nil {
		return err
	}
	return tx.Model(&Event{}).Where("id = ?", n.added.ID).Update("body", string(body)).Error
}

// announceGroup writes the notices of a change of the group (v, as it now
// is) whose member rows are written already: the change notice to the
// members and to those it removed (removed, marked now as told of their
// departure by it), and "You have been added to group NAME" to the members
// it added (added), who are then marked with that notice. It is called
// last in its transaction (lockEventOrder, see recordGroupNotices).
func announceGroup(tx *gorm.DB, v *GroupView, actorID int64, added, removed []int64, now int64) error {
	n, err := recordGroupNotices(tx, v.ID, actorID, len(added) > 0, now)
	if err != nil {
		return err
	}
	for _, part := range chunks(removed, 10_000) {
		if err := tx.Exec("UPDATE group_departures SET left_event = ? WHERE group_id = ? AND user_id IN ?", n.change.ID, v.ID, part).Error; err != nil {
			return err
		}
	}
	for _, part := range chunks(added, 10_000) {
		if err := tx.Exec("UPDATE group_members SET added_event = ? WHERE group_id = ? AND user_id IN ?", n.added.ID, v.ID, part).Error; err != nil {
			return err
		}
	}
	return n.fill(tx, v)
}
