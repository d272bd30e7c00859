// Delivery receipts: Twilio's status callback and WhatsApp's webhook, each
// with its provider's signature checked, updating the attempt; an
// undelivered code goes by the next channel.

package web_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"roster/web"
	"roster/web/webtest"
)

const (
	publicURL        = "https://roster.example.com"
	twilioMessageSID = "SM1234567890abcdef1234567890abcdef"
	whatsAppMessage  = "wamid.HBgLMTIwMTU1NTAxMjMVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"
	waAppSecret      = "meta-app-secret-0123456789"
	waVerifyToken    = "roster-verify-token"
)

type attemptReceipt struct {
	Channel, Status, Receipt, ReceiptError string
	ReceiptAt                              *int64
}

func receipts(t *testing.T, e *webtest.Env) []attemptReceipt {
	t.Helper()
	var rs []attemptReceipt
	if err := e.Server.DB().Read.Raw("SELECT channel, status, receipt, receipt_error, receipt_at FROM outbox_attempts ORDER BY id").
		Scan(&rs).Error; err != nil {
		t.Fatal(err)
	}
	return rs
}

// twilioReceipt posts a status callback form with the given signature.
func twilioReceipt(e *webtest.Env, form url.Values, signature string) *webtest.Response {
	req := httptest.NewRequest(http.MethodPost, "/receipts/twilio", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if signature != "" {
		req.Header.Set("X-Twilio-Signature", signature)
	}
	return e.Do(req)
}

// hmacSHA1 is Twilio's signature of a string already laid out by hand.
func hmacSHA1(key, s string) string {
	m := hmac.New(sha1.New, []byte(key))
	m.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func statusForm(status, errorCode string) url.Values {
	f := url.Values{"AccountSid": {twilioSID}, "ApiVersion": {"2010-04-01"}, "From": {"+15005550006"},
		"MessageSid": {twilioMessageSID}, "MessageStatus": {status}, "SmsSid": {twilioMessageSID},
		"SmsStatus": {status}, "To": {"+" + webtest.USPhone}}
	if errorCode != "" {
		f.Set("ErrorCode", errorCode)
	}
	return f
}

// signedByHand lays out what Twilio signs: the URL, then each parameter's
// name and value in name order.
func signedByHand(status, errorCode string) string {
	s := publicURL + "/receipts/twilio" + "AccountSid" + twilioSID + "ApiVersion2010-04-01"
	if errorCode != "" {
		s += "ErrorCode" + errorCode
	}
	s += "From+15005550006" + "MessageSid" + twilioMessageSID + "MessageStatus" + status + "SmsSid" + twilioMessageSID +
		"SmsStatus" + status + "To+" + webtest.USPhone
	return hmacSHA1(twilioToken, s)
}

func TestTwilioReceiptUpdatesTheAttempt(t *testing.T) {
	fake := webtest.NewFakeHTTP(t, webtest.Reply{Status: http.StatusCreated, Body: twilioCreated})
	e := twilioEnv(t, fake, "--base-url", publicURL, "--twilio-status-callback")
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	form, _ := url.ParseQuery(string(fake.Requests()[0].Body))
	if form.Get("StatusCallback") != publicURL+"/receipts/twilio" {
		t.Errorf("StatusCallback %q", form.Get("StatusCallback"))
	}

	if r := twilioReceipt(e, statusForm("delivered", ""), signedByHand("delivered", "")); r.Status != http.StatusNoContent {
		t.Fatalf("receipt: %d %s", r.Status, r.Body)
	}
	rs := receipts(t, e)
	if len(rs) != 1 || rs[0].Receipt != "delivered" || rs[0].ReceiptAt == nil || *rs[0].ReceiptAt != webtest.StartUnix*1000 {
		t.Errorf("attempts %+v", rs)
	}
	// A late "sent" does not hide the delivery.
	twilioReceipt(e, statusForm("sent", ""), signedByHand("sent", ""))
	if rs := receipts(t, e); rs[0].Receipt != "delivered" {
		t.Errorf("after a late sent: %+v", rs)
	}
	// The message's page on the dashboard shows the receipt with its attempt.
	var outboxID int64
	e.Server.DB().Read.Raw("SELECT outbox_id FROM outbox_attempts ORDER BY id LIMIT 1").Scan(&outboxID)
	page := e.AdminLogin("olga", "operator").Get(fmt.Sprintf("/admin/outbox/%d", outboxID))
	if got := strings.Join(strings.Fields(page.TestIDText(t, "attempt-receipt")), " "); !strings.HasPrefix(got, "delivered ") {
		t.Errorf("the attempt's receipt on the dashboard: %q", got)
	}
}

func TestTwilioReceiptWithABadSignatureIsRefused(t *testing.T) {
	fake := webtest.NewFakeHTTP(t, webtest.Reply{Status: http.StatusCreated, Body: twilioCreated})
	e := twilioEnv(t, fake, "--base-url", publicURL)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	for name, sig := range map[string]string{
		"none":               "",
		"another token":      hmacSHA1("not-the-token", publicURL+"/receipts/twilio"),
		"the request's URL":  hmacSHA1(twilioToken, "http://example.com/receipts/twilio"+"AccountSid"+twilioSID),
		"another status":     signedByHand("delivered", ""),
		"garbage":            "%%%",
		"a prefix of it one": signedByHand("undelivered", "30003")[:10],
	} {
		r := twilioReceipt(e, statusForm("undelivered", "30003"), sig)
		if r.Status != http.StatusForbidden || string(r.Body) != "bad signature" {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	if rs := receipts(t, e); len(rs) != 1 || rs[0].Receipt != "" || rs[0].ReceiptAt != nil {
		t.Errorf("a refused receipt changed the attempt: %+v", rs)
	}
	if n := e.Count("SELECT COUNT(*) FROM outbox"); n != 1 {
		t.Error("a refused receipt queued a message")
	}
}

// An undelivered SMS goes by WhatsApp while its code is valid.
func TestUndeliveredReceiptStartsTheFallback(t *testing.T) {
	sms := webtest.NewFakeHTTP(t, webtest.Reply{Status: http.StatusCreated, Body: twilioCreated})
	wa := webtest.NewFakeHTTP(t, webtest.Reply{Status: http.StatusOK, Body: whatsAppSent})
	e := smsThenWhatsAppEnv(t, sms, wa, "--base-url", publicURL)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())

	if r := twilioReceipt(e, statusForm("undelivered", "30003"), signedByHand("undelivered", "30003")); r.Status != http.StatusNoContent {
		t.Fatalf("receipt: %d %s", r.Status, r.Body)
	}
	e.Server.Worker().RunOnce(context.Background())
	if len(wa.Requests()) != 1 {
		t.Fatalf("%d WhatsApp requests", len(wa.Requests()))
	}
	rs := receipts(t, e)
	if len(rs) != 2 || rs[0].Channel != "twilio" || rs[0].Receipt != "undelivered" || rs[0].ReceiptError != "twilio error 30003" ||
		rs[1].Channel != "whatsapp" || rs[1].Status != "sent" {
		t.Errorf("attempts %+v", rs)
	}
	// The same receipt again (Twilio retries) sends nothing more.
	twilioReceipt(e, statusForm("undelivered", "30003"), signedByHand("undelivered", "30003"))
	e.Server.Worker().RunOnce(context.Background())
	if len(wa.Requests()) != 1 {
		t.Errorf("a repeated receipt sent again: %d", len(wa.Requests()))
	}
	e.Verify(webtest.USPhone, whatsAppCode(t, wa.Requests()[0])).ExpectOK(t)
}

// A code already verified is not sent again, whatever the receipt says.
func TestUndeliveredReceiptOfAVerifiedCode(t *testing.T) {
	sms := webtest.NewFakeHTTP(t, webtest.Reply{Status: http.StatusCreated, Body: twilioCreated})
	wa := webtest.NewFakeHTTP(t, webtest.Reply{Status: http.StatusOK, Body: whatsAppSent})
	e := smsThenWhatsAppEnv(t, sms, wa, "--base-url", publicURL)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	form, _ := url.ParseQuery(string(sms.Requests()[0].Body))
	e.Verify(webtest.USPhone, codeRE.FindString(form.Get("Body"))).ExpectOK(t)
	twilioReceipt(e, statusForm("undelivered", "30003"), signedByHand("undelivered", "30003"))
	if n := e.Count("SELECT COUNT(*) FROM outbox"); n != 1 {
		t.Errorf("%d messages", n)
	}
	if rs := receipts(t, e); rs[0].Receipt != "undelivered" {
		t.Errorf("attempts %+v", rs)
	}
}

func whatsAppWebhookEnv(t *testing.T, wa *webtest.FakeHTTP, channels string, env map[string]string, extra ...string) *webtest.Env {
	e := map[string]string{web.EnvWhatsAppToken: whatsAppToken, web.EnvWhatsAppAppSecret: waAppSecret,
		web.EnvWhatsAppVerifyToken: waVerifyToken}
	for k, v := range env {
		e[k] = v
	}
	args := append(append([]string{"--otp-channel", channels}, whatsAppArgs(wa)...), extra...)
	return deliveryEnv(t, e, args...)
}

func whatsAppNotification(e *webtest.Env, body, signature string) *webtest.Response {
	req := httptest.NewRequest(http.MethodPost, "/receipts/whatsapp", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set("X-Hub-Signature-256", signature)
	}
	return e.Do(req)
}

func hubSignature(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func statusNotification(status, errors string) string {
	return `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{` +
		`"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"` + whatsAppPhoneID + `"},` +
		`"statuses":[{"id":"` + whatsAppMessage + `","status":"` + status + `","timestamp":"1772445660","recipient_id":"12015550123"` +
		errors + `}]},"field":"messages"}]}]}`
}

func TestWhatsAppVerificationHandshake(t *testing.T) {
	e := whatsAppWebhookEnv(t, webtest.NewFakeHTTP(t), "whatsapp", nil)
	get := func(q string) *webtest.Response {
		return e.Do(httptest.NewRequest(http.MethodGet, "/receipts/whatsapp?"+q, nil))
	}
	r := get("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=" + waVerifyToken)
	if r.Status != http.StatusOK || string(r.Body) != "1158201444" {
		t.Errorf("handshake: %d %q", r.Status, r.Body)
	}
	for _, q := range []string{"hub.mode=subscribe&hub.challenge=1&hub.verify_token=wrong", "hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=" + waVerifyToken, ""} {
		if r := get(q); r.Status != http.StatusForbidden {
			t.Errorf("%q: %d %s", q, r.Status, r.Body)
		}
	}
	if r := get("hub.mode=subscribe&hub.challenge=%3Cscript%3E%20&hub.verify_token=" + waVerifyToken); r.Status != http.StatusBadRequest {
		t.Errorf("a challenge with markup: %d %s", r.Status, r.Body)
	}
}

func TestWhatsAppReceiptsUpdateTheAttempt(t *testing.T) {
	wa := webtest.NewFakeHTTP(t, webtest.Reply{Status: http.StatusOK, Body: whatsAppSent})
	e := whatsAppWebhookEnv(t, wa, "whatsapp", nil)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())

	body := statusNotification("delivered", "")
	if r := whatsAppNotification(e, body, hubSignature(waAppSecret, body)); r.Status != http.StatusOK {
		t.Fatalf("notification: %d %s", r.Status, r.Body)
	}
	if rs := receipts(t, e); len(rs) != 1 || rs[0].Receipt != "delivered" {
		t.Errorf("attempts %+v", rs)
	}
	body = statusNotification("read", "")
	whatsAppNotification(e, body, hubSignature(waAppSecret, body))
	if rs := receipts(t, e); rs[0].Receipt != "read" {
		t.Errorf("after read: %+v", rs)
	}
	// Incoming messages and unknown ids are acknowledged and let go.
	other := `{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"messages":[{"from":"1","id":"wamid.x","type":"text","text":{"body":"hi"}}],` +
		`"statuses":[{"id":"wamid.unknown","status":"failed"}]},"field":"messages"}]}]}`
	if r := whatsAppNotification(e, other, hubSignature(waAppSecret, other)); r.Status != http.StatusOK {
		t.Errorf("other notification: %d %s", r.Status, r.Body)
	}
	if r := whatsAppNotification(e, "{not json", hubSignature(waAppSecret, "{not json")); r.Status != http.StatusBadRequest {
		t.Errorf("unreadable notification: %d %s", r.Status, r.Body)
	}
}

func TestWhatsAppReceiptWithABadSignatureIsRefused(t *testing.T) {
	wa := webtest.NewFakeHTTP(t, webtest.Reply{Status: http.StatusOK, Body: whatsAppSent})
	e := whatsAppWebhookEnv(t, wa, "whatsapp", nil)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	body := statusNotification("failed", `,"errors":[{"code":131026,"title":"Message undeliverable"}]`)
	for name, sig := range map[string]string{
		"none":            "",
		"another secret":  hubSignature("another-secret", body),
		"another body":    hubSignature(waAppSecret, body+" "),
		"without sha256=": strings.TrimPrefix(hubSignature(waAppSecret, body), "sha256="),
		"upper-case hex":  strings.ToUpper(hubSignature(waAppSecret, body)),
	} {
		if r := whatsAppNotification(e, body, sig); r.Status != http.StatusForbidden {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	if rs := receipts(t, e); len(rs) != 1 || rs[0].Receipt != "" {
		t.Errorf("a refused notification changed the attempt: %+v", rs)
	}
}

// A failed WhatsApp message goes by the next channel (a call).
func TestWhatsAppFailedReceiptStartsTheFallback(t *testing.T) {
	wa := webtest.NewFakeHTTP(t, webtest.Reply{Status: http.StatusOK, Body: whatsAppSent})
	hook := webtest.NewFakeHTTP(t, webtest.Reply{Status: 204})
	e := whatsAppWebhookEnv(t, wa, "whatsapp,voice", map[string]string{"ROSTER_WEBHOOK_SECRET": hookSecret}, "--webhook-url", hook.URL)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	body := statusNotification("failed", `,"errors":[{"code":131026,"title":"Message undeliverable"}]`)
	if r := whatsAppNotification(e, body, hubSignature(waAppSecret, body)); r.Status != http.StatusOK {
		t.Fatalf("notification: %d %s", r.Status, r.Body)
	}
	e.Server.Worker().RunOnce(context.Background())
	rs := receipts(t, e)
	if len(hook.Requests()) != 1 || len(rs) != 2 || rs[0].Receipt != "failed" ||
		rs[0].ReceiptError != "whatsapp error 131026: Message undeliverable" || rs[1].Channel != "voice" {
		t.Errorf("%d calls, attempts %+v", len(hook.Requests()), rs)
	}
}

func TestReceiptEndpointsOnlyWithTheirChannel(t *testing.T) {
	e := webtest.New(t)
	for _, path := range []string{"/receipts/twilio", "/receipts/whatsapp"} {
		if r := e.Do(httptest.NewRequest(http.MethodPost, path, strings.NewReader("{}"))); r.Status != http.StatusNotFound {
			t.Errorf("%s without its channel: %d", path, r.Status)
		}
	}
	wa := webtest.NewFakeHTTP(t)
	cfg, err := web.ParseConfig("roster", append([]string{"--data-dir", t.TempDir(), "--otp-channel", "whatsapp"}, whatsAppArgs(wa)...),
		func(string) string { return "" }, discardWriter{})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{web.EnvWhatsAppToken: whatsAppToken, web.EnvWhatsAppAppSecret: waAppSecret}
	_, err = web.New(context.Background(), cfg, discardLog(), web.Options{Getenv: func(k string) string { return env[k] }})
	if err == nil || !strings.Contains(err.Error(), web.EnvWhatsAppVerifyToken) {
		t.Errorf("an app secret without a verify token: %v", err)
	}
}
