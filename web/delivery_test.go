// Code delivery through each channel against local fakes that check the
// exact request (Twilio, the signed webhook), the channel choice per
// address, the SMS caps and the worker's retry and give-up rules. One room
// because the channels share the outbox helpers below and are read together
// when a delivery rule changes.

package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"roster/models"
	"roster/web"
	"roster/web/delivery"
	"roster/web/webtest"
)

const (
	twilioSID   = "AC0123456789abcdef0123456789abcdef"
	twilioToken = "twilio-auth-token-secret"
	hookSecret  = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
)

// testWorker makes retries quick to reach with the fake clock and a slow
// provider quick to give up on.
var testWorker = delivery.WorkerConfig{Poll: time.Second, SendTimeout: 300 * time.Millisecond, MaxAttempts: 3,
	BaseBackoff: 2 * time.Second, MaxBackoff: 10 * time.Second}

// deliveryEnv starts Roster with flags and environment secrets, as an operator would.
func deliveryEnv(t *testing.T, env map[string]string, args ...string) *webtest.Env {
	t.Helper()
	return webtest.New(t, webtest.WithArgs(args...), webtest.WithOptions(func(o *web.Options) {
		o.Getenv = func(k string) string { return env[k] }
		o.Worker = testWorker
	}))
}

func twilioEnv(t *testing.T, fake *webtest.FakeHTTP, extra ...string) *webtest.Env {
	args := append([]string{"--otp-channel", "twilio", "--twilio-base-url", fake.URL, "--twilio-account-sid", twilioSID,
		"--twilio-from", "+15005550006", "--app-name", "Chatty"}, extra...)
	return deliveryEnv(t, map[string]string{"ROSTER_TWILIO_AUTH_TOKEN": twilioToken}, args...)
}

const twilioCreated = `{"sid":"SM1234567890abcdef1234567890abcdef","status":"queued","to":"+12015550123"}`

var codeRE = regexp.MustCompile(`\b\d{6}\b`)

type outboxRow struct {
	State, Body, Code, LastError, Channel string
	Attempts                              int
}

func lastOutbox(t testing.TB, e *webtest.Env) outboxRow {
	t.Helper()
	var r outboxRow
	if err := e.Server.DB().Read.Raw("SELECT state, body, code, last_error, channel, attempts FROM outbox ORDER BY id DESC LIMIT 1").Scan(&r).Error; err != nil {
		t.Fatal(err)
	}
	return r
}

func attempts(t testing.TB, e *webtest.Env) []models.OutboxAttempt {
	t.Helper()
	var id int64
	e.Server.DB().Read.Raw("SELECT id FROM outbox ORDER BY id DESC LIMIT 1").Scan(&id)
	as, err := models.NewOutbox(e.Server.DB(), e.Clock, e.Clock, time.Minute).Attempts(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

func TestTwilioDeliversCodeAndSignInCompletes(t *testing.T) {
	fake := webtest.NewFakeHTTP(t, webtest.Reply{Status: http.StatusCreated, Body: twilioCreated})
	e := twilioEnv(t, fake)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	if len(fake.Requests()) != 0 {
		t.Fatal("the provider was called inside the request")
	}
	e.Server.Worker().RunOnce(context.Background())

	reqs := fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests to Twilio", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/2010-04-01/Accounts/"+twilioSID+"/Messages.json" || r.Query != "" {
		t.Errorf("request %s %s?%s", r.Method, r.Path, r.Query)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("content type %q", ct)
	}
	req, _ := http.NewRequest(http.MethodPost, "/", nil)
	req.Header = r.Header
	if u, p, ok := req.BasicAuth(); !ok || u != twilioSID || p != twilioToken {
		t.Errorf("basic auth %q %q %v", u, p, ok)
	}
	form, err := url.ParseQuery(string(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	if len(form) != 3 || form.Get("To") != "+"+webtest.USPhone || form.Get("From") != "+15005550006" {
		t.Errorf("form %v", form)
	}
	code := codeRE.FindString(form.Get("Body"))
	if want := code + " is your Chatty code. It is valid for 5 minutes. Do not share it."; form.Get("Body") != want {
		t.Errorf("body %q, want %q", form.Get("Body"), want)
	}

	row := lastOutbox(t, e)
	if row.State != "sent" || row.Channel != "twilio" || strings.Contains(row.Body, code) || row.Code != "" {
		t.Errorf("outbox after sending: %+v (the code must not stay readable)", row)
	}
	as := attempts(t, e)
	if len(as) != 1 || as[0].Status != "sent" || as[0].HTTPStatus != 201 || as[0].ProviderRef != "SM1234567890abcdef1234567890abcdef" {
		t.Errorf("attempts %+v", as)
	}
	e.Verify(webtest.USPhone, code).ExpectOK(t)
	if strings.Contains(e.Logs(), code) || strings.Contains(e.Logs(), twilioToken) {
		t.Error("the code or the auth token reached the log")
	}
}

func TestTwilioMessagingService(t *testing.T) {
	fake := webtest.NewFakeHTTP(t, webtest.Reply{Status: http.StatusCreated, Body: twilioCreated})
	e := twilioEnv(t, fake, "--twilio-messaging-service-sid", "MG0123", "--twilio-template", "Code {code} for {app}")
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	form, _ := url.ParseQuery(string(fake.Requests()[0].Body))
	if form.Get("MessagingServiceSid") != "MG0123" || form.Has("From") || !regexp.MustCompile(`^Code \d{6} for Chatty$`).MatchString(form.Get("Body")) {
		t.Errorf("form %v", form)
	}
}

func TestTwilioRetriesTransientFailures(t *testing.T) {
	fake := webtest.NewFakeHTTP(t,
		webtest.Reply{Status: 503, Body: `{"code":20503,"message":"Service unavailable","more_info":"https://www.twilio.com/docs/errors/20503","status":503}`},
		webtest.Reply{Status: 502, Body: "<html><body>Bad Gateway</body></html>"},
		webtest.Reply{Status: http.StatusCreated, Body: twilioCreated})
	e := twilioEnv(t, fake)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	ctx := context.Background()

	e.Server.Worker().RunOnce(ctx)
	row := lastOutbox(t, e)
	if row.State != "pending" || !strings.Contains(row.LastError, "twilio: HTTP 503, error 20503: Service unavailable") {
		t.Fatalf("after a 503: %+v", row)
	}
	if n := e.Server.Worker().RunOnce(ctx); n != 0 {
		t.Fatal("a retry ran before its backoff")
	}
	e.Clock.Advance(10 * time.Second)
	e.Server.Worker().RunOnce(ctx)
	if row = lastOutbox(t, e); row.State != "pending" || !strings.Contains(row.LastError, `HTTP 502: unreadable reply "<html><body>Bad Gateway</body></html>"`) {
		t.Fatalf("after garbage: %+v", row)
	}
	e.Clock.Advance(10 * time.Second)
	e.Server.Worker().RunOnce(ctx)
	if row = lastOutbox(t, e); row.State != "sent" || row.Attempts != 3 {
		t.Fatalf("after the third try: %+v", row)
	}
	as := attempts(t, e)
	if len(as) != 3 || as[0].Status != "retry" || as[0].HTTPStatus != 503 || as[1].Status != "retry" || as[1].HTTPStatus != 502 ||
		as[2].Status != "sent" || as[0].Attempt != 1 || as[2].Attempt != 3 {
		t.Errorf("attempts %+v", as)
	}
	// Every try sent the same message.
	for _, r := range fake.Requests() {
		if string(r.Body) != string(fake.Requests()[0].Body) {
			t.Error("a retry sent a different message")
		}
	}
}

func TestTwilioPermanentFailure(t *testing.T) {
	fake := webtest.NewFakeHTTP(t, webtest.Reply{Status: 400,
		Body: `{"code":21211,"message":"The 'To' number +12015550123 is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}`})
	e := twilioEnv(t, fake)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	row := lastOutbox(t, e)
	want := "twilio: HTTP 400, error 21211: The 'To' number +12015550123 is not a valid phone number. (https://www.twilio.com/docs/errors/21211)"
	if row.State != "failed" || row.LastError != want || row.Attempts != 1 || row.Code != "" || codeRE.MatchString(row.Body) {
		t.Errorf("outbox %+v", row)
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'code_send_failed' AND detail = ?", "via twilio: "+want); n != 1 {
		t.Error("no audit entry for the final failure")
	}
	if as := attempts(t, e); len(as) != 1 || as[0].Status != "failed" || as[0].Error != want {
		t.Errorf("attempts %+v", as)
	}
}

func TestTwilioGivesUpAfterMaxAttemptsAndTimeouts(t *testing.T) {
	fake := webtest.NewFakeHTTP(t, webtest.Reply{Status: http.StatusCreated, Body: twilioCreated, Delay: 5 * time.Second})
	e := twilioEnv(t, fake)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	for i := 0; i < testWorker.MaxAttempts; i++ {
		e.Server.Worker().RunOnce(context.Background())
		e.Clock.Advance(time.Minute)
	}
	row := lastOutbox(t, e)
	if row.State != "failed" || row.Attempts != 3 || !strings.Contains(row.LastError, "twilio: no answer in time") {
		t.Errorf("outbox %+v", row)
	}
	if as := attempts(t, e); len(as) != 3 || as[2].Status != "failed" || as[0].HTTPStatus != 0 {
		t.Errorf("attempts %+v", as)
	}
}

func TestTwilioBadCredentialsArePermanent(t *testing.T) {
	fake := webtest.NewFakeHTTP(t, webtest.Reply{Status: 401, Body: `{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}`})
	e := twilioEnv(t, fake)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	if row := lastOutbox(t, e); row.State != "failed" || !strings.Contains(row.LastError, "error 20003: Authenticate") {
		t.Errorf("outbox %+v", row)
	}
}

func TestTwilioMissingAuthTokenStopsStart(t *testing.T) {
	cfg, err := web.ParseConfig("roster", []string{"--data-dir", t.TempDir(), "--otp-channel", "twilio", "--twilio-account-sid", "AC1", "--twilio-from", "+15005550006"},
		func(string) string { return "" }, discardWriter{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = web.New(context.Background(), cfg, discardLog(), web.Options{Getenv: func(string) string { return "" }})
	if err == nil || !strings.Contains(err.Error(), "ROSTER_TWILIO_AUTH_TOKEN") {
		t.Errorf("start without the auth token: %v", err)
	}
}

func TestWebhookDeliversSignedPayload(t *testing.T) {
	fake := webtest.NewFakeHTTP(t, webtest.Reply{Status: 500, Body: "oops"}, webtest.Reply{Status: 204})
	e := deliveryEnv(t, map[string]string{"ROSTER_WEBHOOK_SECRET": hookSecret},
		"--otp-channel", "webhook", "--webhook-url", fake.URL+"/hooks/sms?tenant=7")
	e.JSON(webtest.LoginParams(webtest.FRPhone)).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	e.Clock.Advance(10 * time.Second)
	e.Server.Worker().RunOnce(context.Background())

	reqs := fake.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d webhook calls", len(reqs))
	}
	secret, _ := delivery.ParseWebhookSecret(hookSecret)
	for i, r := range reqs {
		if r.Method != http.MethodPost || r.Path != "/hooks/sms" || r.Query != "tenant=7" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %d: %s %s?%s", i, r.Method, r.Path, r.Query)
		}
		ts := r.Header.Get("webhook-timestamp")
		if ts != "1772445600" && ts != "1772445610" { // webtest.Start, then 10 s later
			t.Errorf("timestamp %q", ts)
		}
		if err := delivery.VerifyWebhook(secret, r.Header, r.Body, e.Clock.Now(), time.Minute); err != nil {
			t.Errorf("request %d: signature: %v", i, err)
		}
	}
	if reqs[0].Header.Get("webhook-id") != reqs[1].Header.Get("webhook-id") {
		t.Error("the retry has another webhook-id: receivers cannot deduplicate")
	}
	var p map[string]any
	dec := json.NewDecoder(strings.NewReader(string(reqs[0].Body)))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		t.Fatal(err)
	}
	code, _ := p["code"].(string)
	if len(p) != 7 || p["type"] != "otp" || p["channel"] != "webhook" || p["to"] != "+"+webtest.FRPhone || !codeRE.MatchString(code) ||
		p["message"] != code+" est votre code Roster. Il est valable 5 minutes. Ne le partagez pas." || // a French number
		p["request_id"] != reqs[0].Header.Get("webhook-id") || p["ts"] != json.Number("1772445600") {
		t.Errorf("payload %v", p)
	}
	if as := attempts(t, e); len(as) != 2 || as[0].HTTPStatus != 500 || as[1].HTTPStatus != 204 || as[1].Status != "sent" {
		t.Errorf("attempts %+v", as)
	}
	e.Verify(webtest.FRPhone, code).ExpectOK(t)
}

func TestWebhookRejectedIsPermanent(t *testing.T) {
	fake := webtest.NewFakeHTTP(t, webtest.Reply{Status: 422, Body: `{"error":"number blocked"}`})
	e := deliveryEnv(t, map[string]string{"ROSTER_WEBHOOK_SECRET": "a-raw-secret-of-enough-length"},
		"--otp-channel", "webhook", "--webhook-url", fake.URL)
	e.JSON(webtest.LoginParams(webtest.FRPhone)).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	row := lastOutbox(t, e)
	if row.State != "failed" || row.LastError != `webhook: HTTP 422: the receiver refused the message: "{\"error\":\"number blocked\"}"` {
		t.Errorf("outbox %+v", row)
	}
	r := fake.Requests()[0]
	if err := delivery.VerifyWebhook([]byte("a-raw-secret-of-enough-length"), r.Header, r.Body, e.Clock.Now(), time.Minute); err != nil {
		t.Errorf("raw secret signature: %v", err)
	}
}

func TestSMSCountryAllowList(t *testing.T) {
	fake := webtest.NewFakeHTTP(t, webtest.Reply{Status: http.StatusCreated, Body: twilioCreated})
	e := twilioEnv(t, fake, "--sms-countries", "fr,DE")
	r := e.JSON(webtest.LoginParams(webtest.USPhone))
	r.ExpectFail(t, "BADPHONE")
	if r.String("errmsg") != "Codes cannot be sent by SMS to numbers of this country." {
		t.Errorf("errmsg %q", r.String("errmsg"))
	}
	e.JSON(webtest.LoginParams(webtest.FRPhone)).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	if len(fake.Requests()) != 1 || e.Count("SELECT COUNT(*) FROM outbox") != 1 {
		t.Error("a code was queued for a refused country")
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'sms_refused' AND phone = ?", "+"+webtest.USPhone); n != 1 {
		t.Error("no audit entry for the refusal")
	}
}

func TestSMSHourlyCap(t *testing.T) {
	fake := webtest.NewFakeHTTP(t, webtest.Reply{Status: http.StatusCreated, Body: twilioCreated})
	e := twilioEnv(t, fake, "--sms-hourly-cap", "2")
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	e.Clock.Advance(10 * time.Minute)
	e.JSON(webtest.LoginParams(webtest.FRPhone)).ExpectOK(t)
	e.Clock.Advance(10 * time.Minute)
	r := e.JSON(webtest.LoginParams("4915123456789"))
	r.ExpectFail(t, "RATELIMIT")
	if r.String("retry_after") != "2400" { // the first code leaves the hour 40 minutes later
		t.Errorf("retry_after %q", r.String("retry_after"))
	}
	e.Clock.Advance(40 * time.Minute)
	e.JSON(webtest.LoginParams("4915123456789")).ExpectOK(t)
}

func TestChannelChosenPerAddress(t *testing.T) {
	fake := webtest.NewFakeHTTP(t, webtest.Reply{Status: http.StatusCreated, Body: twilioCreated})
	mail := webtest.NewFakeSMTP(t)
	e := deliveryEnv(t, map[string]string{"ROSTER_TWILIO_AUTH_TOKEN": twilioToken},
		"--otp-channel", "smtp,twilio", "--twilio-base-url", fake.URL, "--twilio-account-sid", twilioSID, "--twilio-from", "+15005550006",
		"--smtp-host", "127.0.0.1", "--smtp-port", itoa(mail.Port), "--smtp-tls", "none", "--smtp-from", "codes@example.org")
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	e.JSON(webtest.LoginParams("Alice@Example.ORG")).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	if len(fake.Requests()) != 1 || len(mail.Mails()) != 1 {
		t.Fatalf("%d SMS, %d mails", len(fake.Requests()), len(mail.Mails()))
	}
	if n := e.Count("SELECT COUNT(*) FROM outbox WHERE (channel = 'twilio' AND recipient = ?) OR (channel = 'smtp' AND recipient = 'alice@example.org')", "+"+webtest.USPhone); n != 2 {
		t.Error("the outbox rows do not record the chosen channels")
	}
}

func TestEmailRefusedWithoutEmailChannel(t *testing.T) {
	e := webtest.New(t)
	r := e.JSON(webtest.LoginParams("alice@example.org"))
	r.ExpectFail(t, "BADPHONE")
}

func TestDeliveryConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--otp-channel", "pigeon"}, `unknown channel "pigeon"`},
		{[]string{"--otp-channel", "twilio"}, "--twilio-account-sid"},
		{[]string{"--otp-channel", "webhook", "--webhook-url", "ftp://x"}, "--webhook-url"},
		{[]string{"--otp-channel", "webhook", "--webhook-url", "https://user:pw@x"}, "must not contain credentials"},
		{[]string{"--otp-channel", "smtp", "--smtp-host", "h"}, "--smtp-from"},
		{[]string{"--otp-channel", "smtp", "--smtp-host", "h", "--smtp-from", "a@b.c", "--smtp-tls", "maybe"}, "--smtp-tls"},
		{[]string{"--sms-countries", "US,XX"}, `"XX" is not an ISO country code`},
		{[]string{"--token-issuer", "google"}, "--token-issuer"},
		{[]string{"--twilio-template", "no code here"}, "{code}"},
		{[]string{"--otp-channel", "console,console"}, "listed twice"},
	} {
		_, err := web.ParseConfig("roster", tc.args, func(string) string { return "" }, discardWriter{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }

func TestRedactedConfigHidesWebhookQuery(t *testing.T) {
	cfg, err := web.ParseConfig("roster", []string{"--otp-channel", "webhook", "--webhook-url", "https://sms.example/send?key=s3cret"},
		func(string) string { return "" }, discardWriter{})
	if err != nil {
		t.Fatal(err)
	}
	if b := slogString(cfg); strings.Contains(b, "s3cret") || !strings.Contains(b, "sms.example/send") {
		t.Errorf("redacted config %s", b)
	}
}

// Twilio answered 2xx but with a body we cannot read: the message was
// accepted, so it is not sent again (a retry could deliver the code twice).
func TestTwilioAcceptedWithGarbageIsNotResent(t *testing.T) {
	fake := webtest.NewFakeHTTP(t, webtest.Reply{Status: http.StatusCreated, Body: "<xml>?"})
	e := twilioEnv(t, fake)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	if row := lastOutbox(t, e); row.State != "sent" {
		t.Errorf("outbox %+v", row)
	}
	if as := attempts(t, e); len(as) != 1 || as[0].ProviderRef != "(unreadable reply)" {
		t.Errorf("attempts %+v", as)
	}
}

func TestTwilioTooManyRequestsIsRetried(t *testing.T) {
	fake := webtest.NewFakeHTTP(t, webtest.Reply{Status: 429, Body: `{"code":20429,"message":"Too Many Requests","status":429}`},
		webtest.Reply{Status: http.StatusCreated, Body: twilioCreated})
	e := twilioEnv(t, fake)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	if row := lastOutbox(t, e); row.State != "pending" || row.LastError != "twilio: HTTP 429, error 20429: Too Many Requests" {
		t.Errorf("outbox %+v", row)
	}
}

// The whole path on a running server: an app's login request over a real
// listener, the background worker woken by the queued code, fake Twilio
// receiving it, and the app signing in with it.
func TestTwilioThroughRunningServer(t *testing.T) {
	fake := webtest.NewFakeHTTP(t, webtest.Reply{Status: http.StatusCreated, Body: twilioCreated})
	e := twilioEnv(t, fake)
	base := e.Listen()
	post := func(body string) map[string]any {
		res, err := http.Post(base+"/api.php", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		json.NewDecoder(res.Body).Decode(&m)
		return m
	}
	if r := post(`{"op":"login","appid":"com.example.app","phone":"` + webtest.USPhone + `"}`); r["result"] != "OK" {
		t.Fatalf("request code: %v", r)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(fake.Requests()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	reqs := fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("Twilio received %d requests", len(reqs))
	}
	form, _ := url.ParseQuery(string(reqs[0].Body))
	code := codeRE.FindString(form.Get("Body"))
	r := post(`{"op":"login","appid":"com.example.app","phone":"` + webtest.USPhone + `","otp":"` + code + `"}`)
	if r["result"] != "OK" || r["token"] == "" {
		t.Fatalf("verify: %v", r)
	}
}

// The background worker delivers queued messages and records it.
func TestWorkerMarksMessageSent(t *testing.T) {
	e := webtest.New(t)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	e.LastCode("+" + webtest.USPhone)
	if n := e.Count("SELECT COUNT(*) FROM outbox WHERE state = 'sent' AND sent_at IS NOT NULL AND attempts = 1"); n != 1 {
		t.Error("the worker did not mark the message sent")
	}
}
