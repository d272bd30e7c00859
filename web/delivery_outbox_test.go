package web_test

import (
	"context"
	"testing"
	"time"

	"roster/web/webtest"
)

// A code that expires before it could be delivered is given up, and its
// text and code leave the outbox, on the console channel as on a real one.
func TestExpiredUndeliveredCodeLeavesTheOutbox(t *testing.T) {
	for _, channel := range []string{"console", "twilio"} {
		t.Run(channel, func(t *testing.T) {
			var e *webtest.Env
			if channel == "twilio" {
				e = twilioEnv(t, webtest.NewFakeHTTP(t, webtest.Reply{Status: 503, Body: `{"code":20503,"message":"down","status":503}`}))
			} else {
				e = deliveryEnv(t, nil)
			}
			e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
			if channel == "twilio" {
				e.Server.Worker().RunOnce(context.Background()) // the provider is down: retried later
			}
			e.Clock.Advance(6 * time.Minute) // past the code's 5 minutes
			e.Server.Worker().RunOnce(context.Background())
			row := lastOutbox(t, e)
			if row.State != "failed" || row.Code != "" || codeRE.MatchString(row.Body) {
				t.Errorf("%+v", row)
			}
		})
	}
}
