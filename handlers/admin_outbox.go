package handlers

import (
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"roster/models"
	"roster/views"
)

// outboxFilter reads the outbox page's filter: the channel, a date range
// (as the audit log's) and the page (readListQuery); a notice names the
// values it dropped.
func (h *Admin) outboxFilter(c *fiber.Ctx) (views.OutboxFilter, models.OutboxFilter, listQuery, *views.Notice) {
	l := readListQuery(c, 100, h.cfg.Channels)
	v := views.OutboxFilter{Channel: l.channel, Size: l.size, Before: l.before, After: l.after}
	f := models.OutboxFilter{Channel: l.channel}
	var dates *views.Notice
	v.From, v.To, f.From, f.To, dates = dayRange(c)
	return v, f, l, ignoredNotice(l.ignored, dates)
}

// Outbox is GET /admin/outbox (console channel only).
func (h *Admin) Outbox(c *fiber.Ctx) error {
	if !h.cfg.Console {
		return fiber.ErrNotFound
	}
	filter, f, l, notice := h.outboxFilter(c)
	msgs, links, err := h.dash.OutboxPage(c.UserContext(), f, l.keyset, l.limit)
	if err != nil {
		return err
	}
	meta := h.meta(c, "outbox", "Outbox")
	if notice != nil {
		meta.Notice = notice
	}
	// A message's text holds a live sign-in code: whoever reads it can sign
	// in as that person, so only those who may act on users see it.
	vm := views.OutboxVM{OutboxFilter: filter, Channels: h.cfg.Channels, BodiesHidden: !meta.CanWrite}
	vm.KeysetPages = l.pages(links, filter.Paged)
	for _, m := range msgs {
		row := views.OutboxRowVM{ID: m.ID, Channel: m.Channel, Recipient: m.Recipient,
			State: m.State, Attempts: m.Attempts, LastError: m.LastError, Created: m.CreatedAt}
		if !vm.BodiesHidden {
			row.Body = m.Body
			row.Removed = models.OutboxTextRemoved(m.Body)
		}
		vm.Messages = append(vm.Messages, row)
	}
	return Render(c, fiber.StatusOK, views.AdminOutbox(meta, vm))
}

// OutboxMessage is GET /admin/outbox/:id: one message and each of its
// delivery attempts, whatever the channel (the codes page links here). Its
// text is shown as on the outbox page: with the console channel, to
// operators and owners.
func (h *Admin) OutboxMessage(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return fiber.ErrNotFound
	}
	m, attempts, err := h.dash.OutboxMessage(c.UserContext(), id)
	if errors.Is(err, models.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	section := "codes"
	if h.cfg.Console {
		section = "outbox"
	}
	meta := h.meta(c, section, "Message "+strconv.FormatInt(m.ID, 10))
	vm := views.OutboxMessageVM{ID: m.ID, Kind: m.Kind, Channel: m.Channel, Recipient: m.Recipient, State: m.State,
		LastError: m.LastError, Created: m.CreatedAt, SentAt: m.SentAt}
	switch {
	case !h.cfg.Console:
		vm.BodyNote = "Texts are shown only with the console channel (development); a real channel's are removed once sent."
	case !meta.CanWrite:
		vm.BodyNote = "Only operators and owners see message texts."
	default:
		vm.Body = m.Body
	}
	for _, a := range attempts {
		vm.Attempts = append(vm.Attempts, views.AttemptVM{Attempt: a.Attempt, At: a.At, Channel: a.Channel, Status: a.Status,
			HTTPStatus: a.HTTPStatus, ProviderRef: a.ProviderRef, Error: a.Error, DurationMs: a.DurationMs,
			Receipt: a.Receipt, ReceiptAt: a.ReceiptAt, ReceiptError: a.ReceiptError})
	}
	return Render(c, fiber.StatusOK, views.AdminOutboxMessage(meta, vm))
}
