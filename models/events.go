package models

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"

	"gorm.io/gorm"

	"roster/models/eventhub"
	"roster/models/poll"
)

// Event types.
const (
	EventJoined  = "joined"
	EventProfile = "profile"
	// EventGroup: a group changed; its members (and those who just left
	// it) are told (groups_notices.go).
	EventGroup = "group"
	// EventGroupAdded: "You have been added to group NAME", to the members
	// the change added.
	EventGroupAdded = "group_added"
)

// Event is a notice to a user's contacts, written in the transaction of the
// change it announces and fanned out in the background.
type Event struct {
	ID           int64
	Type         string
	UserID       int64
	Body         string
	CreatedAt    int64 `gorm:"autoCreateTime:false"`
	FanoutCursor int64
	Recipients   int64
	FannedOutAt  *int64
	GroupID      *int64 // the group of EventGroup and EventGroupAdded
	AudienceHash []byte // the books it goes to hold this hash; nil: the subject's
}

// Notice is the protocol's JSON body of a notice (the old backend sent it as
// a transient mesibo message).
type Notice struct {
	Subject string `json:"subject"`
	Msg     string `json:"msg"`
	Type    int    `json:"type"`
	Action  int    `json:"action"`
	Name    string `json:"name"`
	GID     int    `json:"gid"`
	Phone   string `json:"phone"`
	Status  string `json:"status"`
	Photo   string `json:"photo"`
	TS      int64  `json:"ts"`
	TN      string `json:"tn"`
	// OldPhone: a change of number's notice, to the books with this number.
	OldPhone string `json:"oldphone,omitempty"`
}

// NoticeSink delivers notices through another channel (mesibo messages).
// recipientPhone is E.164; body is the protocol's JSON notice.
type NoticeSink interface {
	DeliverNotice(ctx context.Context, recipientPhone string, body []byte) error
}

// EventsConfig configures notices.
type EventsConfig struct {
	AppName   string
	Retention time.Duration // how long events stay readable for resuming streams
	Chunk     int           // recipients written per fan-out transaction
	Poll      time.Duration // how often the worker looks for work when not woken
	Sinks     []NoticeSink
	// MesiboNotices queues each notice as a mesibo message in the outbox
	// (persisted, retried, its attempts visible), in the fan-out's own
	// transaction; OnQueued then wakes the outbox's sender.
	MesiboNotices bool
	OnQueued      func()
	// PushProviders are the push providers configured (PushFCM, PushAPNs):
	// each notice is queued as a push to the recipients' devices that have
	// a token of one of them and no live stream (push.go); OnPushQueued
	// then wakes the push sender.
	PushProviders []string
	OnPushQueued  func()
	// Live streams at once per session and per user (<= 0: the hub's defaults).
	StreamsPerSession int
	StreamsPerUser    int
}

// DefaultEventsConfig keeps events 7 days and writes 100 recipients per
// transaction: a request's write waits for at most one such chunk. With
// 500, a sign-in during the fan-out of a 1,000-member group's change
// waited 17-22 ms (median) for the writer; with 100 the ten chunks are
// committed within about 20 ms of the change, a sign-in's write waits
// microseconds for the writer (what it waits for is the CPU, behind the
// woken streams: eventhub's turns), and the change reaches the 1,000
// streams in 0.06-0.15 s (groupbench, SQLite, on a loaded 2-core
// machine).
func DefaultEventsConfig() EventsConfig {
	return EventsConfig{AppName: "Roster", Retention: 7 * 24 * time.Hour, Chunk: 100, Poll: 2 * time.Second}
}

// Events writes notices, fans them out to the users who have the number in
// their address book, and wakes their live streams.
type Events struct {
	db    *DB
	clock Clock
	cfg   EventsConfig
	log   *slog.Logger
	hub   *eventhub.Hub
	wake  poll.Wake
	// streamReads bounds the live streams' reads of their deliveries
	// (Since) to half the reader connections: a change told to a thousand
	// open streams wakes them all at once, and their reads must not queue
	// ahead of requests (a sign-in during a large group's fan-out waited
	// behind them).
	streamReads chan struct{}
	recent      *recentEvents // the notices the streams read (events_read.go)
}

// NewEvents returns the notices service.
func NewEvents(db *DB, clock Clock, log *slog.Logger, cfg EventsConfig) *Events {
	d := DefaultEventsConfig()
	if cfg.Chunk <= 0 {
		cfg.Chunk = d.Chunk
	}
	if cfg.Poll <= 0 {
		cfg.Poll = d.Poll
	}
	if cfg.Retention <= 0 {
		cfg.Retention = d.Retention
	}
	readers := 4
	if pool, err := db.Read.DB(); err == nil && pool.Stats().MaxOpenConnections > 0 {
		readers = pool.Stats().MaxOpenConnections
	}
	// Streams pace their sends on SQLite: there a turn (a read of the
	// stream's deliveries and its write) is this process's CPU. On
	// PostgreSQL a turn mostly waits for the database server, and pauses
	// would only slow the fan-out: a 1,000-member group's took 0.96 s
	// instead of 0.22 with them.
	hub := eventhub.New(cfg.StreamsPerSession, cfg.StreamsPerUser, !db.Postgres())
	return &Events{db: db, clock: clock, cfg: cfg, log: log, hub: hub, wake: poll.NewWake(),
		streamReads: make(chan struct{}, max(1, readers/2)), recent: newRecentEvents()}
}

// Hub is where live streams wait for their user's events.
func (e *Events) Hub() *eventhub.Hub { return e.hub }

// Wake asks the fan-out worker to look for work now. It never blocks.
func (e *Events) Wake() { e.wake.Send() }

func (e *Events) notice(u *User, typ string) Notice {
	n := Notice{Name: u.Name, Phone: u.Digits(), Status: u.Status, Photo: u.Photo, TS: u.ProfileTS(), TN: u.Thumbnail}
	if typ == EventJoined {
		n.Subject = "%NAME% is on " + e.cfg.AppName + " now"
		n.Msg = "Hey, your contact %NAME% has just joined " + e.cfg.AppName + ", you may want to say hi!"
	}
	return n
}

// record writes an event inside the caller's transaction. Streams read a
// user's deliveries by event id, and the fan-out takes events by id: on
// PostgreSQL, where transactions commit in any order, the event is
// numbered under lockEventOrder, held to commit, so that no event commits
// after one with a larger id (SQLite's single writer gives that order).
func (e *Events) record(tx *gorm.DB, u *User, typ string, now time.Time) error {
	body, err := json.Marshal(e.notice(u, typ))
	if err != nil {
		return err
	}
	return recordEvent(tx, &Event{Type: typ, UserID: u.ID, Body: string(body), CreatedAt: toMillis(now)})
}

// recordEvent numbers and writes ev under lockEventOrder (see record).
func recordEvent(tx *gorm.DB, ev *Event) error {
	if err := lockKey(tx, lockEventOrder, ""); err != nil {
		return err
	}
	return tx.Create(ev).Error
}

// Run fans events out until ctx is done, and drops expired ones (at most
// hourly, once the fan-out has nothing left to do).
func (e *Events) Run(ctx context.Context) {
	var lastPrune time.Time
	poll.Run(ctx, e.cfg.Poll, e.wake, func(ctx context.Context) int {
		n, err := e.RunOnce(ctx)
		if err != nil {
			if ctx.Err() == nil {
				e.log.Error("events: fan-out failed", "err", err)
			}
			n = 0
		}
		if n == 0 && time.Since(lastPrune) > time.Hour {
			if _, err := e.Prune(ctx); err != nil && ctx.Err() == nil {
				e.log.Error("events: pruning failed", "err", err)
			}
			lastPrune = time.Now()
		}
		return n
	})
}

// RunOnce handles one chunk of the oldest event not yet fanned out. It
// returns how many events or recipients it handled (0: nothing to do).
func (e *Events) RunOnce(ctx context.Context) (int, error) {
	handled, err := WriteTx(ctx, e.db, func(tx *Tx) (int, error) {
		// One worker at a time across instances, oldest event first, as
		// SQLite's writer runs it: a user's deliveries then come in event
		// order, which their streams read by. Another instance fanning out
		// now leaves nothing to do here; a chunk and the cursor after it
		// are committed together, so the next worker starts past it.
		if free, err := tryLockKey(tx.DB, lockFanout, ""); err != nil || !free {
			return 0, err
		}
		var ev Event
		err := tx.Where("fanned_out_at IS NULL").Order("id").Limit(1).Find(&ev).Error
		if err != nil || ev.ID == 0 {
			return 0, err
		}
		recipients, err := e.fanOutChunk(tx.DB, &ev)
		if err != nil || len(recipients) == 0 {
			return 1, err
		}
		tx.OnCommit(func() {
			e.recent.put(ev)
			ids := make([]int64, len(recipients))
			for i, r := range recipients {
				ids[i] = r.OwnerID
			}
			e.hub.Notify(ids)
			e.deliverToSinks(ctx, &ev, recipients)
			if e.cfg.MesiboNotices && e.cfg.OnQueued != nil {
				e.cfg.OnQueued()
			}
			if len(e.cfg.PushProviders) > 0 && e.cfg.OnPushQueued != nil {
				e.cfg.OnPushQueued()
			}
		})
		return len(recipients), nil
	})
	return handled, err
}

type fanoutRecipient struct {
	OwnerID int64
	Phone   string
}

// fanOutChunk writes the next chunk of recipients of ev and advances its
// cursor. The subject's settings are read now, not when the event was
// written: a user who turned announcements off or hid themselves meanwhile
// is honored.
func (e *Events) fanOutChunk(tx *gorm.DB, ev *Event) ([]fanoutRecipient, error) {
	nowMs := toMillis(e.clock.Now())
	done := func(extra int) error {
		return tx.Model(&Event{}).Where("id = ?", ev.ID).Updates(map[string]any{
			"fanned_out_at": nowMs, "recipients": gorm.Expr("recipients + ?", extra)}).Error
	}
	var q string
	var args []any
	if ev.GroupID != nil {
		q, args = groupRecipients(ev)
	} else {
		var u User
		err := tx.Take(&u, ev.UserID).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, done(0)
		}
		if err != nil {
			return nil, err
		}
		if u.PhoneHash == nil || u.Discoverable == "nobody" || (ev.Type == EventJoined && !u.Announce) {
			return nil, done(0)
		}
		q = `SELECT b.owner_id, o.phone FROM address_book b JOIN users o ON o.id = b.owner_id
		WHERE b.contact_hash = ? AND b.owner_id > ? AND b.owner_id <> ?`
		audience := u.PhoneHash
		if ev.AudienceHash != nil {
			audience = ev.AudienceHash
		}
		args = []any{audience, ev.FanoutCursor, u.ID}
		if u.Discoverable == "contacts" {
			q += ` AND EXISTS (SELECT 1 FROM address_book mine WHERE mine.owner_id = ? AND mine.contact_hash = o.phone_hash)`
			args = append(args, u.ID)
		}
		q += ` ORDER BY b.owner_id LIMIT ?`
	}
	args = append(args, e.cfg.Chunk)
	var rs []fanoutRecipient
	if err := tx.Raw(q, args...).Scan(&rs).Error; err != nil {
		return nil, err
	}
	if len(rs) > 0 {
		var sb strings.Builder
		vals := make([]any, 0, 2*len(rs))
		sb.WriteString("INSERT INTO event_deliveries (recipient_id, event_id) VALUES ")
		for i, r := range rs {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString("(?,?)")
			vals = append(vals, r.OwnerID, ev.ID)
		}
		// A delivery already written (a chunk run again) stays as it is.
		sb.WriteString(" ON CONFLICT DO NOTHING")
		if err := tx.Exec(sb.String(), vals...).Error; err != nil {
			return nil, err
		}
		if err := e.queueMesiboNotices(tx, ev, rs, nowMs); err != nil {
			return nil, err
		}
		if err := e.queuePushes(tx, ev, rs, nowMs); err != nil {
			return nil, err
		}
	}
	if len(rs) < e.cfg.Chunk {
		return rs, done(len(rs))
	}
	return rs, tx.Model(&Event{}).Where("id = ?", ev.ID).Updates(map[string]any{
		"fanout_cursor": rs[len(rs)-1].OwnerID, "recipients": gorm.Expr("recipients + ?", len(rs))}).Error
}

// queueMesiboNotices writes one outbox job per recipient (mesibo mode).
func (e *Events) queueMesiboNotices(tx *gorm.DB, ev *Event, rs []fanoutRecipient, now int64) error {
	if !e.cfg.MesiboNotices {
		return nil
	}
	msgs := make([]OutboxMessage, 0, len(rs))
	for _, r := range rs {
		job, err := json.Marshal(MesiboJob{Op: "message", Address: strings.TrimPrefix(r.Phone, "+"), Msg: ev.Body})
		if err != nil {
			return err
		}
		msgs = append(msgs, OutboxMessage{Channel: MesiboChannel, Kind: OutboxKindMesiboNotice, Recipient: r.Phone,
			Body: string(job), State: OutboxPending, CreatedAt: now, NextAttemptAt: now})
	}
	return tx.CreateInBatches(msgs, 100).Error
}

// deliverToSinks hands the notice to the configured sinks (none by default).
// A failed delivery is logged and not retried: notices are transient, as
// they were in the old backend (a one-hour mesibo message).
func (e *Events) deliverToSinks(ctx context.Context, ev *Event, rs []fanoutRecipient) {
	for _, s := range e.cfg.Sinks {
		for _, r := range rs {
			if err := s.DeliverNotice(ctx, r.Phone, []byte(ev.Body)); err != nil {
				e.log.Warn("events: a notice sink failed", "event_id", ev.ID, "recipient_id", r.OwnerID, "err", err)
			}
		}
	}
}

// Prune deletes events older than the retention (their deliveries go with
// them), a few at a time so that the writer is never held long.
func (e *Events) Prune(ctx context.Context) (int64, error) {
	cutoff := toMillis(e.clock.Now().Add(-e.cfg.Retention))
	var total int64
	// On PostgreSQL every instance prunes: SKIP LOCKED gives each its own
	// batch instead of both waiting on the same five rows (the second would
	// then delete nothing and stop early), and passes over an event whose
	// chunk a fan-out is writing rather than waiting for it.
	q := e.db.SQL("DELETE FROM events WHERE id IN (SELECT id FROM events WHERE created_at < ? ORDER BY id LIMIT 5)",
		"DELETE FROM events WHERE id IN (SELECT id FROM events WHERE created_at < ? ORDER BY id LIMIT 5 FOR UPDATE SKIP LOCKED)")
	for {
		n, err := WriteTx(ctx, e.db, func(tx *Tx) (int64, error) {
			res := tx.Exec(q, cutoff)
			return res.RowsAffected, res.Error
		})
		if err != nil {
			return total, err
		}
		total += n
		if n == 0 {
			return total, nil
		}
	}
}
