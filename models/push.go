package models

import (
	"encoding/json"
	"regexp"
	"slices"

	"gorm.io/gorm"
)

// Push notifications: a notice also goes, as a data-only push, to each
// recipient's devices that have a push token and no live event stream on
// any instance. The jobs are outbox messages (channel: the provider, kind
// OutboxKindPush), written in the fan-out's transaction and sent by
// web/push's worker.

// OutboxKindPush is a push job; its body is a PushJob.
const OutboxKindPush = "push"

// Push providers, also the outbox channels of their jobs.
const (
	PushFCM  = "fcm"
	PushAPNs = "apns"
)

// Push message types: what the app is told to sync.
const (
	PushContactJoined  = "contact_joined"
	PushProfileChanged = "profile_changed"
	PushGroupChanged   = "group_changed"
)

// PushJob is the body of a push job. It names the session, not its token:
// the token is read when the job is sent, so a token removed or replaced
// meanwhile is never used.
type PushJob struct {
	SessionID int64  `json:"session_id"`
	Type      string `json:"type"`
	TS        int64  `json:"ts"` // unix seconds of the notice
}

// PushType is the push type of an event type. Joins and profile changes
// have their own; every other event is about groups (the group events),
// and an app told "group_changed" syncs its groups, which is harmless for
// a type it does not know.
func PushType(eventType string) string {
	switch eventType {
	case EventJoined:
		return PushContactJoined
	case EventProfile:
		return PushProfileChanged
	}
	return PushGroupChanged
}

var apnsToken = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

// PushRoute says which provider serves a device and with which token: a
// notifytoken of 64 hex digits is an APNs device token, any other
// notifytoken an FCM registration token, and without one the fcmid is.
// provider is "" when the device has no token.
func PushRoute(notifyToken, fcmID string) (provider, token string) {
	switch {
	case apnsToken.MatchString(notifyToken):
		return PushAPNs, notifyToken
	case notifyToken != "":
		return PushFCM, notifyToken
	case fcmID != "":
		return PushFCM, fcmID
	}
	return "", ""
}

// pushTarget is a recipient's device that gets a push.
type pushTarget struct {
	ID          int64
	UserID      int64
	NotifyToken string
	FcmID       string
}

// queuePushes writes one push job per device of the recipients that has a
// token of a configured provider, is not disabled, and holds no live
// event stream now (live_streams, kept by every instance's streams).
func (e *Events) queuePushes(tx *gorm.DB, ev *Event, rs []fanoutRecipient, now int64) error {
	if len(e.cfg.PushProviders) == 0 || len(rs) == 0 {
		return nil
	}
	ids := make([]int64, len(rs))
	phones := make(map[int64]string, len(rs))
	for i, r := range rs {
		ids[i] = r.OwnerID
		phones[r.OwnerID] = r.Phone
	}
	var targets []pushTarget
	err := tx.Raw(`SELECT s.id, s.user_id, s.notify_token, s.fcm_id FROM sessions s
		WHERE s.user_id IN ? AND s.revoked_at IS NULL AND s.expires_at > ? AND s.push_disabled = ''
		AND (s.notify_token <> '' OR s.fcm_id <> '')
		AND NOT EXISTS (SELECT 1 FROM live_streams l WHERE l.session_id = s.id AND l.expires_at > ?)
		ORDER BY s.id`, ids, now, now).Scan(&targets).Error
	if err != nil {
		return err
	}
	typ, ts := PushType(ev.Type), ev.CreatedAt/1000
	msgs := make([]OutboxMessage, 0, len(targets))
	for _, t := range targets {
		provider, _ := PushRoute(t.NotifyToken, t.FcmID)
		if !slices.Contains(e.cfg.PushProviders, provider) {
			continue
		}
		body, err := json.Marshal(PushJob{SessionID: t.ID, Type: typ, TS: ts})
		if err != nil {
			return err
		}
		msgs = append(msgs, OutboxMessage{Channel: provider, Kind: OutboxKindPush, Recipient: phones[t.UserID],
			Body: string(body), State: OutboxPending, CreatedAt: now, NextAttemptAt: now})
	}
	if len(msgs) == 0 {
		return nil
	}
	return tx.CreateInBatches(msgs, 100).Error
}
