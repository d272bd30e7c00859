package web

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"roster/handlers"
)

// peopleRoutes adds the live event stream and the stored files.
func (s *Server) peopleRoutes(app *fiber.App) {
	stream := s.people.EventStream(handlers.StreamConfig{Heartbeat: s.cfg.People.EventHeartbeat, Done: s.streamsDone}, s.sessions)
	app.Get("/api/events", plainStatus(s.api.RequireToken()), stream)
	app.Get("/files/:name", s.people.Files)
}

// plainStatus answers client errors of an event stream with their HTTP
// status and a line of text, not the protocol envelope: EventSource clients
// act on the status (401: stop reconnecting).
func plainStatus(next fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		err := next(c)
		var fe *fiber.Error
		if errors.As(err, &fe) && fe.Code < 500 {
			c.Set(fiber.HeaderCacheControl, "no-store")
			return c.Status(fe.Code).SendString(fe.Message)
		}
		return err
	}
}
