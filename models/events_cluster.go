package models

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"roster/models/eventhub"
)

// Live events across instances (PostgreSQL). The events table stays the
// source of truth: a stream always reads its events from it. What crosses
// between instances is only "these users may have new events" and "these
// sessions were revoked", as NOTIFY payloads of ids (PostgreSQL caps a
// payload at 8,000 bytes and drops notifications while a listener is
// disconnected). Each instance keeps one listening connection; after a
// reconnect it wakes all its streams, which re-read the table; and it also
// polls the deliveries every few seconds, so that a pooler in transaction
// mode (which breaks LISTEN) only adds latency.

// Channels of the notifications.
const (
	busWakeChannel    = "roster_wake"
	busRevokedChannel = "roster_revoked"
	busPayloadMax     = 7900 // bytes of ids in one NOTIFY
)

// Bus connects the hubs of the instances sharing a PostgreSQL database.
type Bus struct {
	db   *DB
	hub  *eventhub.Hub
	log  *slog.Logger
	poll time.Duration
}

// NewBus returns the bus of this instance's hub: from now on the hub's
// wake-ups and revocations are also sent to the other instances.
func NewBus(db *DB, hub *eventhub.Hub, log *slog.Logger, poll time.Duration) *Bus {
	b := &Bus{db: db, hub: hub, log: log, poll: poll}
	hub.Relay(
		func(ids []int64) { b.publish(busWakeChannel, ids) },
		func(ids []int64) { b.publish(busRevokedChannel, ids) })
	return b
}

// publish sends ids on a channel, in payloads under PostgreSQL's cap. It
// runs after the commit that made them true; a failure is logged (streams
// elsewhere then learn at the next poll or heartbeat).
func (b *Bus) publish(channel string, ids []int64) {
	sqlDB, err := b.db.Write.DB()
	if err != nil {
		return
	}
	for _, payload := range idPayloads(ids) {
		if _, err := sqlDB.Exec("SELECT pg_notify($1, $2)", channel, payload); err != nil {
			b.log.Warn("events: telling the other instances failed", "channel", channel, "err", err)
			return
		}
	}
}

// idPayloads joins ids with commas into payloads of at most busPayloadMax bytes.
func idPayloads(ids []int64) []string {
	var out []string
	var sb strings.Builder
	for _, id := range ids {
		s := strconv.FormatInt(id, 10)
		if sb.Len() > 0 && sb.Len()+1+len(s) > busPayloadMax {
			out = append(out, sb.String())
			sb.Reset()
		}
		if sb.Len() > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(s)
	}
	if sb.Len() > 0 {
		out = append(out, sb.String())
	}
	return out
}

// parseIDs reads a payload of publish; malformed ids are skipped.
func parseIDs(payload string) []int64 {
	var ids []int64
	for _, f := range strings.Split(payload, ",") {
		if id, err := strconv.ParseInt(f, 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// Run listens for the other instances' notifications, reconnecting after
// a failure, and polls the deliveries after start (from Position), until
// ctx is done.
func (b *Bus) Run(ctx context.Context, start DeliveryPosition) {
	go b.runPoll(ctx, start)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := b.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		b.log.Warn("events: the listening connection failed; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// listen holds one connection listening on both channels. Notifications
// sent while it was not listening are lost: once listening, it wakes every
// local stream to re-read the table.
func (b *Bus) listen(ctx context.Context) error {
	sqlDB, err := b.db.Write.DB()
	if err != nil {
		return err
	}
	return OnPgxConn(ctx, sqlDB, func(pc *pgx.Conn) error {
		for _, ch := range []string{busWakeChannel, busRevokedChannel} {
			if _, err := pc.Exec(ctx, "LISTEN "+ch); err != nil {
				return err
			}
		}
		b.hub.WakeAll()
		for {
			n, err := pc.WaitForNotification(ctx)
			if err != nil {
				return err
			}
			switch n.Channel {
			case busWakeChannel:
				b.hub.WakeLocal(parseIDs(n.Payload))
			case busRevokedChannel:
				b.hub.RevokeLocal(parseIDs(n.Payload))
			}
		}
	})
}

// DeliveryPosition is a place in event_deliveries: (event, recipient).
// Deliveries are written in that order (events one at a time, oldest
// first; an event's chunks by recipient), and an event's later chunks come
// after its first ones.
type DeliveryPosition struct {
	event, recipient int64
	known            bool
}

// Position is the last delivery written so far. The server reads it before
// it accepts a stream, so that no delivery falls between the position and
// the first poll. If the database does not answer within ctx, the position
// is not known and the poll reads it at its first turn.
func (b *Bus) Position(ctx context.Context) DeliveryPosition {
	last, err := b.lastDelivery(ctx)
	if err != nil && ctx.Err() == nil {
		b.log.Warn("events: reading the last delivery failed", "err", err)
	}
	return last
}

func (b *Bus) lastDelivery(ctx context.Context) (DeliveryPosition, error) {
	var last DeliveryPosition
	err := b.db.Read.WithContext(ctx).Raw(`SELECT event_id, recipient_id FROM event_deliveries
		ORDER BY event_id DESC, recipient_id DESC LIMIT 1`).Row().Scan(&last.event, &last.recipient)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return DeliveryPosition{}, err
	}
	last.known = true
	return last, nil
}

// runPoll wakes the local streams of users who got events since the last
// poll, whatever the notifications did.
func (b *Bus) runPoll(ctx context.Context, last DeliveryPosition) {
	sqlDB, err := b.db.Read.DB()
	if err != nil {
		return
	}
	repeat(ctx, b.poll, func() {
		if !last.known {
			if last, err = b.lastDelivery(ctx); err != nil && ctx.Err() == nil {
				b.log.Warn("events: reading the last delivery failed", "err", err)
			}
			return
		}
		next, err := b.pollOnce(ctx, sqlDB, last)
		if err != nil && ctx.Err() == nil {
			b.log.Warn("events: polling the deliveries failed", "err", err)
			return
		}
		last = next
	})
}

func (b *Bus) pollOnce(ctx context.Context, db *sql.DB, after DeliveryPosition) (DeliveryPosition, error) {
	rows, err := db.QueryContext(ctx, `SELECT recipient_id, event_id FROM event_deliveries
		WHERE (event_id, recipient_id) > ($1, $2) ORDER BY event_id, recipient_id LIMIT 10000`, after.event, after.recipient)
	if err != nil {
		return after, err
	}
	defer rows.Close()
	var users []int64
	last := after
	for rows.Next() {
		if err := rows.Scan(&last.recipient, &last.event); err != nil {
			return after, err
		}
		users = append(users, last.recipient)
	}
	if err := rows.Err(); err != nil {
		return after, err
	}
	b.hub.WakeLocal(users)
	return last, nil
}
