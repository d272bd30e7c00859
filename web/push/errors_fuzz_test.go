package push

import (
	"net/http"
	"strings"
	"testing"
)

// The providers' error answers are parsed from whatever comes back: any
// status, header and body give an *Error that names no token and takes no
// wait beyond a day.
func FuzzProviderErrors(f *testing.F) {
	f.Add(404, "", `{"error":{"status":"NOT_FOUND","details":[{"errorCode":"UNREGISTERED"}]}}`)
	f.Add(400, "5", `{"error":{"message":"registration token","details":[{"fieldViolations":[{"field":"message.token"}]}]}}`)
	f.Add(410, "Wed, 21 Oct 2026 07:28:00 GMT", `{"reason":"Unregistered","timestamp":1799000000000}`)
	f.Add(429, "99999999999", `{"reason":"TooManyRequests"}`)
	f.Fuzz(func(t *testing.T, status int, retry, body string) {
		resp := &http.Response{StatusCode: status, Header: http.Header{"Retry-After": {retry}}}
		for _, e := range []*Error{fcmError(resp, []byte(body), fixedNow()), apnsError(resp, []byte(body), fixedNow())} {
			if e == nil || e.RetryAfter < 0 || e.RetryAfter > 24*60*60*1e9 || (e.Final && e.Hold) {
				t.Fatalf("%+v", e)
			}
			if e.Token != TokenKeep && !e.Final {
				t.Fatalf("a token verdict on a job that is retried: %+v", e)
			}
			if !strings.HasPrefix(e.Error(), e.Provider+": ") {
				t.Fatalf("error text %q", e.Error())
			}
		}
	})
}
