package handlers

import (
	"bufio"
	"context"
	"io"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"roster/models"
)

// StreamConfig tunes the live event streams.
type StreamConfig struct {
	Heartbeat time.Duration   // comment line sent this often; the session is re-checked each time
	Done      <-chan struct{} // closed when the server shuts down: streams end
	// Presence records each stream in the database (refreshed twice per
	// heartbeat by its Run), so that no instance pushes to a device that
	// has one.
	Presence *models.Presence
}

// EventStream serves GET /api/events: Server-Sent Events of the caller's
// notices, resumable with Last-Event-ID (header, or `lastEventId` query
// parameter for clients that cannot set headers). It must run behind
// RequireToken. The stream ends when the session is revoked (at once when
// revoked in this process, else at the next heartbeat's check) or the
// server shuts down.
func (a *API) EventStream(cfg StreamConfig) fiber.Handler {
	return func(c *fiber.Ctx) error {
		pr := PrincipalOf(c)
		if pr == nil {
			return fiber.ErrUnauthorized
		}
		last, err := lastEventID(c)
		if err != nil {
			return err
		}
		userID, sessionID := pr.User.ID, pr.SessionID
		conn := c.Context().Conn() // valid while the response is written; used only to extend deadlines
		sub := a.events.Hub().Subscribe(userID, sessionID)
		c.Set(fiber.HeaderContentType, "text/event-stream; charset=utf-8")
		c.Set(fiber.HeaderCacheControl, "no-cache, no-store")
		c.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
		c.Set(fiber.HeaderConnection, "keep-alive")
		c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
			defer a.events.Hub().Unsubscribe(sub)
			// c must not be touched here: the handler has returned.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s := &stream{w: w, conn: conn, events: a.events, userID: userID, last: last, deadline: 2 * cfg.Heartbeat}
			if s.write("retry: 3000\n\n") != nil {
				return
			}
			tick := time.NewTicker(cfg.Heartbeat)
			defer tick.Stop()
			defer openPresence(ctx, cfg.Presence, sessionID)()
			for {
				if err := s.sendPending(ctx); err != nil {
					return
				}
				select {
				case <-sub.Wake:
				case <-sub.Revoked:
					return
				case <-cfg.Done:
					return
				case <-tick.C:
					if live, err := a.sessions.Live(ctx, sessionID); err == nil && !live {
						return
					}
					if s.write(": ping\n\n") != nil {
						return
					}
				}
			}
		})
		return nil
	}
}

// openPresence records the stream in the database (the presence store
// refreshes it) until the returned function removes it. Without a
// presence store, or when the database refuses, the stream runs on and its
// device may also get pushes.
func openPresence(ctx context.Context, p *models.Presence, sessionID int64) (stop func()) {
	if p == nil {
		return func() {}
	}
	id, err := p.Open(ctx, sessionID)
	if err != nil {
		return func() {}
	}
	return func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = p.Close(closeCtx, id)
	}
}

func lastEventID(c *fiber.Ctx) (int64, error) {
	v := c.Get("Last-Event-ID")
	if v == "" {
		v = c.Query("lastEventId")
	}
	if v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 0 {
		return 0, fiber.NewError(fiber.StatusBadRequest, "Last-Event-ID must be an event id")
	}
	return id, nil
}

type stream struct {
	w        *bufio.Writer
	conn     interface{ SetWriteDeadline(time.Time) error }
	events   *models.Events
	userID   int64
	last     int64
	deadline time.Duration
}

func (s *stream) write(text string) error {
	if s.conn != nil && s.deadline > 0 {
		_ = s.conn.SetWriteDeadline(time.Now().Add(s.deadline))
	}
	if _, err := io.WriteString(s.w, text); err != nil {
		return err
	}
	return s.w.Flush()
}

// send writes one event. Its body goes out as it is, not copied into a
// formatted string first: a large group's notice is sent to a thousand
// streams at once.
func (s *stream) send(ev models.Event) error {
	if s.conn != nil && s.deadline > 0 {
		_ = s.conn.SetWriteDeadline(time.Now().Add(s.deadline))
	}
	var head [64]byte
	b := append(head[:0], "id: "...)
	b = strconv.AppendInt(b, ev.ID, 10)
	b = append(b, "\nevent: "...)
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	for _, part := range []string{ev.Type, "\ndata: ", ev.Body, "\n\n"} {
		if _, err := s.w.WriteString(part); err != nil {
			return err
		}
	}
	return s.w.Flush()
}

// sendPending sends every stored event after the last one sent, a page at
// a time, each in a turn of the hub's (Hub.SendTurn).
func (s *stream) sendPending(ctx context.Context) error {
	for {
		n, err := s.sendPage(ctx)
		if err != nil || n < 100 {
			return err
		}
	}
}

// sendPage reads and sends up to 100 events in one turn.
func (s *stream) sendPage(ctx context.Context) (int, error) {
	done, err := s.events.Hub().SendTurn(ctx)
	if err != nil {
		return 0, err
	}
	defer done()
	evs, err := s.events.Since(ctx, s.userID, s.last, 100)
	if err != nil {
		return 0, err
	}
	for _, ev := range evs {
		if err := s.send(ev); err != nil {
			return 0, err
		}
		s.last = ev.ID
	}
	return len(evs), nil
}
