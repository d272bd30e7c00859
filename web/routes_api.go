package web

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"roster/handlers"
)

// protocolEndpoints are the paths where the demo apps send protocol
// requests (handlers/protocol.md, "Transport"). POST / is one too: current
// clients post JSON to the bare host.
func protocolEndpoints() []string { return []string{"/api.php", "/api", "/conf/api.php"} }

// apiRoutes mounts the mobile API: the op endpoint, whose failures are the
// protocol's envelope, and beside it the live event stream, whose failures
// are plain statuses, and the stored files.
func (s *Server) apiRoutes(app *fiber.App) {
	// The deadline starts at arrival: a wait for a turn (admission.go) is
	// part of it.
	s.admission = newAdmission(s.clock, s.cfg.Load, s.metrics.registry)
	endpoint := s.protocolErrors(s.refuseWhileDatabaseLost(s.withDeadline(s.admission.admit(s.api.Handle))))
	for _, p := range protocolEndpoints() {
		app.Get(p, endpoint)
		app.Post(p, endpoint)
		app.Options(p, endpoint)
	}
	app.Post("/", endpoint)
	app.Options("/", endpoint)

	stream := s.api.EventStream(handlers.StreamConfig{Heartbeat: s.cfg.People.EventHeartbeat, Done: s.streamsDone,
		Presence: s.presence})
	// The token check has the request's deadline; the stream, written
	// after the handler returns, does not.
	app.Get("/api/events", s.plainStatus(s.withDeadline(s.api.RequireToken())), stream)
	app.Get("/files/:name", s.api.Files)
	app.Get("/api/export", s.plainStatus(s.withDeadline(s.api.ServeExport)))
}

// isProtocolEndpoint tells, for an error raised before routing (a body over
// the limit), whether the request was sent to the op endpoint: the same
// table apiRoutes mounts.
func isProtocolEndpoint(c *fiber.Ctx) bool {
	if c.Path() == "/" {
		return c.Method() == fiber.MethodPost || c.Method() == fiber.MethodOptions
	}
	for _, p := range protocolEndpoints() {
		if c.Path() == p {
			return true
		}
	}
	return false
}

// withDeadline gives each protocol request --request-timeout to do its
// work: the context reaches every database call, so a request queued
// behind the writer gives up at the deadline (and answers BUSY) instead of
// running long after its client stopped waiting. An event stream gets one
// for its token check only: the stream itself is long-lived.
func (s *Server) withDeadline(h fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if s.cfg.RequestTimeout <= 0 {
			return h(c)
		}
		parent := c.UserContext()
		ctx, cancel := context.WithTimeout(parent, s.cfg.RequestTimeout)
		defer cancel()
		c.SetUserContext(ctx)
		defer c.SetUserContext(parent) // the error handler and the access log run after the deadline's cancel
		return h(c)
	}
}
