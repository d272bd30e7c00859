package web

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"roster/handlers"
	"roster/web/mesibo"
)

// metrics are Roster's Prometheus metrics, on a registry of their own (no
// global state): request counts and latencies by route, and protocol results
// by op and error code (protocol failures are HTTP 200, so the status alone
// says nothing).
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	ops      *prometheus.CounterVec
	pushes   *prometheus.CounterVec
	fraud    *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "roster_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_api_ops_total", Help: "Protocol requests by op and result (OK or the error code).",
		}, []string{"op", "result"}),
	}
	m.pushes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "roster_push_attempts_total", Help: "Push attempts by provider and outcome (sent, retry, failed).",
	}, []string{"provider", "outcome"})
	m.fraud = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "roster_otp_fraud_total", Help: "Code requests the fraud guard refused or held, by decision and reason.",
	}, []string{"decision", "reason"})
	m.registry.MustRegister(m.requests, m.duration, m.ops, m.pushes, m.fraud,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observe records a served request. knownOp bounds the op label: an
// attacker must not create a series per invented op name.
func (m *metrics) observe(c *fiber.Ctx, elapsed time.Duration, knownOp func(string) bool) {
	route := c.Route().Path
	if c.Response().StatusCode() == fiber.StatusNotFound {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, c.Method(), strconv.Itoa(c.Response().StatusCode())).Inc()
	m.duration.WithLabelValues(route).Observe(elapsed.Seconds())
	if op := handlers.OpOf(c); op != "" {
		if !knownOp(op) {
			op = "other"
		}
		result := handlers.ErrorCodeOf(c)
		if result == "" {
			result = "OK"
		}
		m.ops.WithLabelValues(op, result).Inc()
	}
}

// watchMesibo exports mesibo mode's degraded state (mesibo refuses
// Roster's requests for a configuration reason), so that alerts can fire on
// it. Without mesibo mode there is no series.
func (m *metrics) watchMesibo(h *mesibo.Health) {
	if h == nil {
		return
	}
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "roster_mesibo_degraded",
		Help: "1 while mesibo refuses Roster's requests for a configuration reason (app token, API URL), else 0.",
	}, func() float64 {
		if h.Degraded() {
			return 1
		}
		return 0
	}))
}

func (m *metrics) handler() fiber.Handler {
	return adaptor.HTTPHandler(promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
}

// observePush counts one push attempt.
func (m *metrics) observePush(provider, outcome string) {
	m.pushes.WithLabelValues(provider, outcome).Inc()
}

// observeFraud counts one refusal or hold of the fraud guard.
func (m *metrics) observeFraud(decision, reason string) {
	m.fraud.WithLabelValues(decision, reason).Inc()
}
