package web

import (
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
	endpoint := s.protocolErrors(s.refuseWhileDatabaseLost(s.api.Handle))
	for _, p := range protocolEndpoints() {
		app.Get(p, endpoint)
		app.Post(p, endpoint)
		app.Options(p, endpoint)
	}
	app.Post("/", endpoint)
	app.Options("/", endpoint)

	stream := s.api.EventStream(handlers.StreamConfig{Heartbeat: s.cfg.People.EventHeartbeat, Done: s.streamsDone})
	app.Get("/api/events", s.plainStatus(s.api.RequireToken()), stream)
	app.Get("/files/:name", s.api.Files)
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
