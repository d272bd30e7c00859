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

// announceGroup writes the notices of a change of the group (v, as it now
// is) made by actorID: the change notice to the members and to those it
// removed (removed), and "You have been added to group NAME" to the
// members it added (added), who are then marked with that notice. It is
// called last in its transaction: lockEventOrder, taken here, is held to
// commit, and no row is locked after it.
func announceGroup(tx *gorm.DB, v *GroupView, actorID int64, added, removed []int64, now int64) error {
	body, err := json.Marshal(groupNotice(v))
	if err != nil {
		return err
	}
	gid := v.ID
	ev := &Event{Type: EventGroup, UserID: actorID, GroupID: &gid, Body: string(body), CreatedAt: now}
	if err := recordEvent(tx, ev); err != nil {
		return err
	}
	for _, part := range chunks(removed, 10_000) {
		if err := tx.Exec("UPDATE group_departures SET left_event = ? WHERE group_id = ? AND user_id IN ?", ev.ID, gid, part).Error; err != nil {
			return err
		}
	}
	if len(added) == 0 {
		return nil
	}
	n := groupNotice(v)
	n.Subject = "You have been added to group " + v.Name
	n.Msg = n.Subject
	body, err = json.Marshal(n)
	if err != nil {
		return err
	}
	ev = &Event{Type: EventGroupAdded, UserID: actorID, GroupID: &gid, Body: string(body), CreatedAt: now}
	if err := recordEvent(tx, ev); err != nil {
		return err
	}
	for _, part := range chunks(added, 10_000) {
		if err := tx.Exec("UPDATE group_members SET added_event = ? WHERE group_id = ? AND user_id IN ?", ev.ID, gid, part).Error; err != nil {
			return err
		}
	}
	return nil
}
