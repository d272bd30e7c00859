package models

import (
	"encoding/json"

	"gorm.io/gorm"
)

// mesibo jobs in the outbox: the calls to mesibo that revocation, account
// deletion and notices queue in their own transactions (sent by
// web/mesibo's job sender).

// MesiboChannel is the outbox channel of mesibo jobs.
const MesiboChannel = "mesibo"

// Mesibo job ops.
const (
	// MesiboJobUserDel deletes the user at mesibo (userdel), and with it
	// every token it has. It serves account deletion and token revocation:
	// mesibo's documented backend API (useradd, userset, userdel, usertoken)
	// has no op that deletes one access token, so revoking a session's token
	// means invalidating all of the user's tokens. The user's other devices
	// then see mesibo refuse their token (connection status AUTHFAIL) and
	// sign in again; that sign-in's useradd creates the user again (with a
	// new uid, which the sign-in stores). Roster cannot hand re-issued
	// tokens to those devices (the demo protocol has no op that delivers a
	// token outside login), so it does not re-issue them. What mesibo held
	// for the user goes with it, and a sign-in between the revocation and
	// the job gets a token that the job kills (that device signs in again).
	MesiboJobUserDel = "userdel"
	// MesiboJobMessage sends a contact notice as a mesibo message.
	MesiboJobMessage = "message"
	// Group jobs (groups_mesibo.go): create a group and store mesibo's id
	// for it, rename it, add or remove members, delete it.
	MesiboJobGroupAdd         = "groupadd"
	MesiboJobGroupSet         = "groupset"
	MesiboJobGroupEditMembers = "groupeditmembers"
	MesiboJobGroupDel         = "groupdel"
)

// MesiboJob is the body of a mesibo job in the outbox. Jobs queued by
// older versions of Roster may still carry the ops "deltoken" and "deluser"
// (both run as userdel) and a sealed token, which is ignored.
type MesiboJob struct {
	Op          string `json:"op"`
	UID         string `json:"uid,omitempty"`
	Address     string `json:"address,omitempty"`      // message: the recipient
	TokenSealed []byte `json:"token_sealed,omitempty"` // old deltoken jobs only
	Msg         string `json:"msg,omitempty"`          // message: the contact notice's JSON

	// Group jobs.
	GID     int64    `json:"gid,omitempty"`     // Roster's gid
	Name    string   `json:"name,omitempty"`    // groupadd, groupset
	Members []string `json:"members,omitempty"` // groupeditmembers: mesibo addresses
	Delete  bool     `json:"delete,omitempty"`  // groupeditmembers: remove them
}

// queueMesiboJob writes a mesibo job into the outbox inside the caller's
// transaction: the job exists exactly when the revocation does, and the
// delivery worker sends it to mesibo with retries, outside any transaction.
// A job identical to one still pending is not queued twice (blocking a user
// revokes all their sessions, which all name the same mesibo user).
func queueMesiboJob(tx *gorm.DB, recipient string, job MesiboJob, now int64) error {
	body, err := json.Marshal(job)
	if err != nil {
		return err
	}
	var n int64
	if err := tx.Model(&OutboxMessage{}).Where("channel = ? AND kind = ? AND state = ? AND body = ?",
		MesiboChannel, OutboxKindMesiboRevoke, OutboxPending, string(body)).Count(&n).Error; err != nil || n > 0 {
		return err
	}
	return tx.Create(&OutboxMessage{Channel: MesiboChannel, Kind: OutboxKindMesiboRevoke, Recipient: recipient,
		Body: string(body), State: OutboxPending, CreatedAt: now, NextAttemptAt: now}).Error
}

// queueMesiboTokenDelete queues invalidating a revoked session's token at
// mesibo, which invalidates all of the user's tokens (see MesiboJobUserDel).
// A session replaced by a new sign-in on the same device is the exception:
// the device now holds the token just issued, which the job would kill too,
// sending that device into a sign-in loop; the old token was on that same
// device, which dropped it.
func queueMesiboTokenDelete(tx *gorm.DB, sess *Session, now int64) error {
	if sess.MesiboUID == "" {
		return nil // a Roster token: nothing to do at mesibo
	}
	if sess.RevokeReason == RevokeReplaced {
		return nil
	}
	var phone string
	if err := tx.Model(&User{}).Where("id = ?", sess.UserID).Pluck("phone", &phone).Error; err != nil {
		return err
	}
	return queueMesiboJob(tx, phone, MesiboJob{Op: MesiboJobUserDel, UID: sess.MesiboUID}, now)
}

// queueMesiboUserDelete queues deleting the user at mesibo (account
// deletion). The dashboard's delete action calls it in its transaction.
func queueMesiboUserDelete(tx *gorm.DB, u *User, now int64) error {
	if u.MesiboUID == "" {
		return nil
	}
	return queueMesiboJob(tx, u.Phone, MesiboJob{Op: MesiboJobUserDel, UID: u.MesiboUID}, now)
}
