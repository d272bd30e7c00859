package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"roster/handlers"
	"roster/static"
	"roster/views"
)

func (s *Server) newApp() *fiber.App {
	cfg := fiber.Config{
		AppName:               "Roster",
		Immutable:             true, // request strings outlive handlers (goroutines, errors)
		BodyLimit:             s.cfg.BodyLimitMB << 20,
		ReadBufferSize:        64 << 10, // old clients send contact lists in GET query strings
		ReadTimeout:           s.cfg.ReadTimeout,
		WriteTimeout:          s.cfg.WriteTimeout,
		IdleTimeout:           s.cfg.IdleTimeout,
		ErrorHandler:          s.handleError,
		DisableStartupMessage: true,
		// fasthttp would parse multipart bodies while reading the request
		// and answer a malformed one itself, with the library's words; the
		// op endpoint parses them and answers BADREQUEST in the envelope.
		DisablePreParseMultipartForm: true,
		// Between requests a keep-alive connection gives its read and write
		// buffers and its request and reply bodies back to fasthttp's
		// pools instead of keeping them: kept, 1,024 connections held a
		// 64 KiB read buffer and a reply of up to megabytes each.
		ReduceMemoryUsage: true,
	}
	app := fiber.New(cfg)
	app.Use(s.realClientIP, s.transportHeaders, requestID, s.accessLog, recover.New(recover.Config{
		EnableStackTrace: true,
		StackTraceHandler: func(c *fiber.Ctx, e any) {
			s.log.Error("panic while serving a request", "request_id", RequestID(c), "panic", e)
		},
	}))

	if s.metricsToken != "" {
		app.Get("/metrics", s.requireMetricsToken, s.metrics.handler())
	}
	app.Get("/livez", func(c *fiber.Ctx) error { return c.SendString("ok") })
	app.Get("/readyz", func(c *fiber.Ctx) error {
		if !s.health(c.UserContext()).Ready() {
			return c.Status(fiber.StatusServiceUnavailable).SendString("not ready")
		}
		return c.SendString("ready")
	})

	s.apiRoutes(app)
	s.receiptRoutes(app)

	html := app.Group("", securityHeaders)
	html.Use("/static", filesystem.New(filesystem.Config{Root: http.FS(static.Files), MaxAge: 3600}))
	// Browsers ask for /favicon.ico whatever the pages link to.
	html.Get("/favicon.ico", func(c *fiber.Ctx) error { return c.Redirect("/static/favicon.svg", fiber.StatusMovedPermanently) })
	s.adminRoutes(html)
	// The public page never says demo-code mode is on: that would tell
	// anyone that one code opens every account. The dashboard and the log do.
	html.Get("/", handlers.Home(views.HomeVM{APIURL: s.cfg.BaseURL + "/api.php"}))
	app.Use(func(c *fiber.Ctx) error { return fiber.ErrNotFound })
	return app
}

// realClientIP replaces the request's remote address with the client's
// (clientip: the forwarding header read from the right, past trusted
// proxies only), so that c.IP() everywhere after it is the client. Fiber's
// own ProxyHeader takes the header's leftmost value, which the client writes.
func (s *Server) realClientIP(c *fiber.Ctx) error {
	if !s.clientIP.Trusts() {
		return c.Next()
	}
	// The socket's peer, read from the connection: RemoteAddr would return
	// what this middleware set for the previous request on a keep-alive
	// connection (fasthttp keeps it until the connection ends).
	var remote netip.Addr
	if conn := c.Context().Conn(); conn != nil {
		if ap, err := netip.ParseAddrPort(conn.RemoteAddr().String()); err == nil {
			remote = ap.Addr()
		}
	}
	if !remote.IsValid() {
		return c.Next()
	}
	var values []string
	c.Request().Header.VisitAll(func(k, v []byte) {
		if strings.EqualFold(string(k), s.cfg.ProxyHeader) {
			values = append(values, string(v))
		}
	})
	c.Context().SetRemoteAddr(&net.TCPAddr{IP: s.clientIP.Client(remote, values).AsSlice()})
	return c.Next()
}

// requireMetricsToken admits a scrape with ROSTER_METRICS_TOKEN as its
// bearer token (compared in constant time); anyone else gets a 404, as if
// there were no metrics.
func (s *Server) requireMetricsToken(c *fiber.Ctx) error {
	h := c.Get(fiber.HeaderAuthorization)
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") &&
		subtle.ConstantTimeCompare([]byte(strings.TrimSpace(h[7:])), []byte(s.metricsToken)) == 1 {
		return c.Next()
	}
	return fiber.ErrNotFound
}

// newMetricsApp serves /metrics alone, for --metrics-addr: a port that the
// firewall or the loopback address keeps private.
func (s *Server) newMetricsApp() *fiber.App {
	app := fiber.New(fiber.Config{AppName: "Roster metrics", DisableStartupMessage: true,
		ReadTimeout: s.cfg.ReadTimeout, WriteTimeout: s.cfg.WriteTimeout, IdleTimeout: s.cfg.IdleTimeout})
	app.Get("/metrics", s.metrics.handler())
	return app
}

// transportHeaders go on every reply, API and files included: no content
// sniffing (a JSON reply or a stored file is never run as a page), and when
// the public URL is https, Strict-Transport-Security so that browsers never
// send a dashboard cookie or a token over plain http again.
func (s *Server) transportHeaders(c *fiber.Ctx) error {
	c.Set("X-Content-Type-Options", "nosniff")
	if strings.HasPrefix(s.cfg.BaseURL, "https://") {
		c.Set("Strict-Transport-Security", "max-age=31536000")
	}
	return c.Next()
}

// securityHeaders protects the HTML pages: no framing, no sniffing, no
// outside resources, and a Referer only to this origin.
func securityHeaders(c *fiber.Ctx) error {
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("X-Frame-Options", "DENY")
	c.Set("Referrer-Policy", "same-origin")
	c.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	c.Set("Cross-Origin-Opener-Policy", "same-origin")
	return c.Next()
}

const (
	headerRequestID = "X-Request-ID"
	localRequestID  = "roster.request_id"
)

// requestID gives every request an id, returned in X-Request-ID and written
// to its log lines. An incoming id is kept only if it is short and plain, so
// a client cannot forge log lines through it.
func requestID(c *fiber.Ctx) error {
	id := c.Get(headerRequestID)
	if !plainID(id) {
		var b [12]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	c.Locals(localRequestID, id)
	c.Set(headerRequestID, id)
	return c.Next()
}

func plainID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// RequestID is the id of the request being served.
func RequestID(c *fiber.Ctx) string {
	id, _ := c.Locals(localRequestID).(string)
	return id
}

// accessLog writes one line per request (unless --access-log=false). It
// logs the path without the query string: tokens travel there.
func (s *Server) accessLog(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if err != nil {
		// Render the error now so the status logged is the one sent.
		if herr := c.App().ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	if s.metrics != nil {
		s.metrics.observe(c, time.Since(start), s.api.HasOp)
	}
	level := slog.LevelInfo
	if p := c.Path(); p == "/livez" || p == "/readyz" || p == "/metrics" || strings.HasPrefix(p, "/static/") {
		level = slog.LevelDebug
	}
	if !s.cfg.Load.AccessLog || !s.log.Enabled(c.UserContext(), level) {
		return nil
	}
	attrs := []slog.Attr{
		slog.String("request_id", RequestID(c)),
		slog.String("method", c.Method()),
		slog.String("path", c.Path()),
		slog.Int("status", c.Response().StatusCode()),
		slog.Duration("duration", time.Since(start)),
		slog.String("ip", c.IP()),
	}
	if op := handlers.OpOf(c); op != "" {
		attrs = append(attrs, slog.String("op", op))
	}
	if code := handlers.ErrorCodeOf(c); code != "" {
		attrs = append(attrs, slog.String("error", code))
	}
	s.log.LogAttrs(c.UserContext(), level, "request", attrs...)
	return nil
}
