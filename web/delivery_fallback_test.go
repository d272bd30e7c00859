// The fallback between channels: a code whose SMS fails for good goes by
// WhatsApp at once; a code not verified within --otp-fallback-after goes by
// the next channel when the person asks again.

package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"roster/web"
	"roster/web/webtest"
)

func smsThenWhatsAppEnv(t *testing.T, sms, wa *webtest.FakeHTTP, extra ...string) *webtest.Env {
	args := append([]string{"--otp-channel", "twilio,whatsapp,smtp", "--twilio-base-url", sms.URL, "--twilio-account-sid", twilioSID,
		"--twilio-from", "+15005550006", "--smtp-host", "127.0.0.1", "--smtp-from", "codes@example.org"}, whatsAppArgs(wa)...)
	return deliveryEnv(t, map[string]string{"ROSTER_TWILIO_AUTH_TOKEN": twilioToken, web.EnvWhatsAppToken: whatsAppToken},
		append(args, extra...)...)
}

// channelsOfAttempts lists the channel of every attempt, oldest first.
func channelsOfAttempts(t *testing.T, e *webtest.Env) []string {
	t.Helper()
	var chs []string
	if err := e.Server.DB().Read.Raw("SELECT channel || ':' || status FROM outbox_attempts ORDER BY id").Scan(&chs).Error; err != nil {
		t.Fatal(err)
	}
	return chs
}

func TestFailingSMSFallsBackToWhatsApp(t *testing.T) {
	sms := webtest.NewFakeHTTP(t, webtest.Reply{Status: 400,
		Body: `{"code":21612,"message":"The 'To' phone number is not currently reachable using the 'From' phone number via SMS.","status":400}`})
	wa := webtest.NewFakeHTTP(t, webtest.Reply{Status: http.StatusOK, Body: whatsAppSent})
	e := smsThenWhatsAppEnv(t, sms, wa)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())

	if len(sms.Requests()) != 1 || len(wa.Requests()) != 1 {
		t.Fatalf("%d SMS, %d WhatsApp requests", len(sms.Requests()), len(wa.Requests()))
	}
	form, _ := url.ParseQuery(string(sms.Requests()[0].Body))
	smsCode := codeRE.FindString(form.Get("Body"))
	code := whatsAppCode(t, wa.Requests()[0])
	if got := channelsOfAttempts(t, e); len(got) != 2 || got[0] != "twilio:failed" || got[1] != "whatsapp:sent" {
		t.Errorf("attempts %v", got)
	}
	if n := e.Count("SELECT COUNT(*) FROM otp_codes WHERE channel = 'whatsapp' AND state = 'pending'"); n != 1 {
		t.Error("the code does not record its new channel")
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'code_fallback' AND detail = 'twilio failed: a new code via whatsapp'"); n != 1 {
		t.Error("no audit entry for the fallback")
	}
	if smsCode != code {
		// The SMS never arrived; its code is replaced.
		e.Verify(webtest.USPhone, smsCode).ExpectFail(t, "BADCODE")
	}
	e.Verify(webtest.USPhone, code).ExpectOK(t)
}

// The last channel that can reach a number failing: nothing more is sent.
func TestFallbackStopsAtTheLastChannel(t *testing.T) {
	sms := webtest.NewFakeHTTP(t, webtest.Reply{Status: 400, Body: `{"code":21612,"message":"unreachable","status":400}`})
	wa := webtest.NewFakeHTTP(t, webtest.Reply{Status: 400, Body: `{"error":{"message":"Message undeliverable.","code":131026}}`})
	e := smsThenWhatsAppEnv(t, sms, wa)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	if got := channelsOfAttempts(t, e); len(got) != 2 || got[0] != "twilio:failed" || got[1] != "whatsapp:failed" {
		t.Errorf("attempts %v", got)
	}
	if n := e.Count("SELECT COUNT(*) FROM outbox"); n != 2 {
		t.Errorf("%d messages queued", n)
	}
}

func TestUnverifiedCodeAskedAgainGoesByTheNextChannel(t *testing.T) {
	sms := webtest.NewFakeHTTP(t, webtest.Reply{Status: http.StatusCreated, Body: twilioCreated})
	wa := webtest.NewFakeHTTP(t, webtest.Reply{Status: http.StatusOK, Body: whatsAppSent})
	e := smsThenWhatsAppEnv(t, sms, wa, "--otp-fallback-after", "2m")
	ask := func() string {
		t.Helper()
		e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
		e.Server.Worker().RunOnce(context.Background())
		return lastOutbox(t, e).Channel
	}
	if ch := ask(); ch != "twilio" {
		t.Fatalf("first code via %s", ch)
	}
	e.Clock.Advance(time.Minute + 59*time.Second)
	if ch := ask(); ch != "twilio" {
		t.Errorf("asked again within the fallback time: via %s", ch)
	}
	e.Clock.Advance(2 * time.Minute)
	if ch := ask(); ch != "whatsapp" {
		t.Errorf("asked again after the fallback time: via %s", ch)
	}
	// At the end of the list (smtp cannot reach a phone) it stays.
	e.Clock.Advance(2 * time.Minute)
	if ch := ask(); ch != "whatsapp" {
		t.Errorf("after the last channel: via %s", ch)
	}
	e.Verify(webtest.USPhone, whatsAppCode(t, wa.Requests()[len(wa.Requests())-1])).ExpectOK(t)
	// A verified code: the next sign-in starts from the first channel.
	e.Clock.Advance(time.Hour)
	if ch := ask(); ch != "twilio" {
		t.Errorf("after a sign-in: via %s", ch)
	}
	if got := channelsOfAttempts(t, e); len(got) != 5 || got[1] != "twilio:sent" || got[2] != "whatsapp:sent" {
		t.Errorf("attempts %v", got)
	}
}

func TestFallbackAfterNegativeIsRefused(t *testing.T) {
	_, err := web.ParseConfig("roster", []string{"--otp-fallback-after", "-1m"}, func(string) string { return "" }, discardWriter{})
	if err == nil {
		t.Error("a negative --otp-fallback-after was accepted")
	}
}
