package models

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// A deleted user's number is also written in rows that are other people's
// and do not go with the user's row: the member lists of their groups'
// notices, and the outbox's jobs to the user's devices. deleteUserTx takes
// it out of both with these. What stays is said in protocol.md
// (`deleteaccount`): the audit log, the sign-in state kept per number, and
// the record of pushes already sent.

// forgetInGroupNotices takes the user's number out of the member lists
// ("<admincount>:<phones>") of the notices still kept (--event-retention)
// of the groups the user is or was in, as if they had never been a member.
// The notices themselves stay: the other members' streams resume from them
// and their added_event and left_event name them. Notices the user wrote
// go with the user (ON DELETE CASCADE), so they are not read. It runs
// after the user's row is locked and before any group's row is (the lock
// order), and returns the rewritten notices.
func forgetInGroupNotices(tx *gorm.DB, userID int64, phone string) ([]Event, error) {
	digits := strings.TrimPrefix(phone, "+")
	if digits == "" {
		return nil, nil
	}
	var gids []int64
	err := tx.Raw("SELECT group_id FROM group_members WHERE user_id = ? UNION SELECT group_id FROM group_departures WHERE user_id = ?",
		userID, userID).Scan(&gids).Error
	if err != nil || len(gids) == 0 {
		return nil, err
	}
	// The number as the list writes it, first or not, last or not; a body
	// that matches elsewhere (a timestamp) is left as it is below.
	var patterns []any
	for _, before := range []string{":", ","} {
		for _, after := range []string{",", `"`} {
			patterns = append(patterns, "%"+before+digits+after+"%")
		}
	}
	var changed []Event
	for _, part := range chunks(gids, 500) {
		var evs []Event
		err := tx.Select("id", "type", "body").
			Where("group_id IS NOT NULL AND group_id IN ? AND user_id <> ? AND (body LIKE ? OR body LIKE ? OR body LIKE ? OR body LIKE ?)",
				append([]any{part, userID}, patterns...)...).Find(&evs).Error
		if err != nil {
			return nil, err
		}
		for _, ev := range evs {
			if body, ok := withoutMember(ev.Body, digits); ok {
				ev.Body = body
				changed = append(changed, ev)
			}
		}
	}
	for _, part := range chunks(changed, 100) {
		var sb strings.Builder
		args := make([]any, 0, 2*len(part)+1)
		ids := make([]int64, len(part))
		sb.WriteString("UPDATE events SET body = CASE id")
		for i, ev := range part {
			sb.WriteString(" WHEN ? THEN ?")
			args = append(args, ev.ID, ev.Body)
			ids[i] = ev.ID
		}
		sb.WriteString(" END WHERE id IN ?")
		if err := tx.Exec(sb.String(), append(args, ids)...).Error; err != nil {
			return nil, err
		}
	}
	return changed, nil
}

// withoutMember is a group notice's body without digits in its member
// list, one admin fewer if the number was among them (the admins come
// first); false when the list does not hold the number.
func withoutMember(body, digits string) (string, bool) {
	var n Notice
	if err := json.Unmarshal([]byte(body), &n); err != nil {
		return "", false
	}
	count, list, ok := strings.Cut(n.Status, ":")
	admins, err := strconv.Atoi(count)
	if !ok || err != nil {
		return "", false
	}
	phones := strings.Split(list, ",")
	i := slices.Index(phones, digits)
	if i < 0 {
		return "", false
	}
	if i < admins {
		admins--
	}
	n.Status = strconv.Itoa(admins) + ":" + strings.Join(slices.Delete(phones, i, i+1), ",")
	out, err := json.Marshal(n)
	if err != nil {
		return "", false
	}
	return string(out), true
}

// dropPendingDeliveries deletes the jobs waiting to reach the user's
// devices (pushes; notices as mesibo messages): the devices are signed out
// and the user deleted, so they would be given up unsent. The index of due
// jobs finds them (kind, state), without reading the jobs already done.
// Those done stay as the record of what was sent, until --retention.
func dropPendingDeliveries(tx *gorm.DB, phone string) error {
	return tx.Exec("DELETE FROM outbox WHERE kind IN ? AND state = ? AND recipient = ?",
		[]string{OutboxKindPush, OutboxKindMesiboNotice}, OutboxPending, phone).Error
}
