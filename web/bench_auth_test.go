package web_test

import (
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// BenchmarkAuthFail is an op with an unknown token, through the whole app
// (every middleware, the request's decoding, the token check and the
// AUTHFAIL envelope) but without a socket: fasthttp's handler is called on
// a request in memory, so the figures are the server's own work, steadier
// on a shared machine than a load test's (cpu-ms/op: the process's CPU time
// per request, the steadiest figure there). "same" presents one dead token
// every time (an app that keeps its token after the session ended);
// "random" a new one each time (nothing remembered helps).
//
//	go test -run '^$' -bench AuthFail -benchmem ./web
func BenchmarkAuthFail(b *testing.B) {
	// Without the access log, as loadbench runs the server (--log-level warn).
	forEachDB(b, []string{"--access-log=false"}, func(b *testing.B, s *benchServer) {
		h := s.srv.App().Handler()
		remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
		run := func(b *testing.B, token func(i int) string) {
			var ctx fasthttp.RequestCtx
			var req fasthttp.Request
			i := 0
			cpu := cpuTime()
			for b.Loop() {
				req.Reset()
				req.Header.SetMethod(fasthttp.MethodPost)
				req.SetRequestURI("/api.php")
				req.Header.SetContentType("application/json")
				req.SetBodyString(`{"op":"getcontacts","token":"` + token(i) + `","phones":"+12015550123"}`)
				ctx.Init(&req, remote, nil)
				h(&ctx)
				if !strings.Contains(string(ctx.Response.Body()), `"error":"AUTHFAIL"`) {
					b.Fatalf("not AUTHFAIL: %s", ctx.Response.Body())
				}
				i++
			}
			reportCPU(b, cpu, i)
		}
		dead := strings.Repeat("0", 64)
		b.Run("same", func(b *testing.B) { run(b, func(int) string { return dead }) })
		b.Run("random", func(b *testing.B) {
			run(b, func(i int) string {
				return strings.Repeat("0", 48) + strings.Repeat("f", 16-len(strconv.Itoa(i))) + strconv.Itoa(i)
			})
		})
	})
}
