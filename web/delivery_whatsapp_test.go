// The whatsapp channel against a local Graph API that checks the exact
// request, and the voice channel through the webhook.

package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"roster/web"
	"roster/web/delivery"
	"roster/web/webtest"
)

const (
	whatsAppToken   = "EAAG-whatsapp-system-user-token"
	whatsAppPhoneID = "106540352242922"
	whatsAppSent    = `{"messaging_product":"whatsapp","contacts":[{"input":"+12015550123","wa_id":"12015550123"}],` +
		`"messages":[{"id":"wamid.HBgLMTIwMTU1NTAxMjMVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"}]}`
)

func whatsAppArgs(fake *webtest.FakeHTTP) []string {
	return []string{"--whatsapp-base-url", fake.URL + "/v21.0", "--whatsapp-phone-number-id", whatsAppPhoneID,
		"--whatsapp-template", "roster_code", "--whatsapp-template-language", "en_US"}
}

func whatsAppEnv(t *testing.T, fake *webtest.FakeHTTP) *webtest.Env {
	args := append([]string{"--otp-channel", "whatsapp"}, whatsAppArgs(fake)...)
	return deliveryEnv(t, map[string]string{web.EnvWhatsAppToken: whatsAppToken}, args...)
}

// whatsAppRequestBody is the exact body the Cloud API gets for a code.
func whatsAppRequestBody(to, code string) string {
	return `{"messaging_product":"whatsapp","to":"` + to + `","type":"template","template":{"name":"roster_code",` +
		`"language":{"code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","text":"` + code + `"}]},` +
		`{"type":"button","sub_type":"url","index":"0","parameters":[{"type":"text","text":"` + code + `"}]}]}}`
}

// whatsAppCode is the code of a request to the fake Cloud API.
func whatsAppCode(t *testing.T, r webtest.Received) string {
	t.Helper()
	var body struct {
		Template struct {
			Components []struct {
				Parameters []struct{ Text string }
			}
		}
	}
	if err := json.Unmarshal(r.Body, &body); err != nil || len(body.Template.Components) == 0 ||
		len(body.Template.Components[0].Parameters) == 0 {
		t.Fatalf("not a template message: %s", r.Body)
	}
	return body.Template.Components[0].Parameters[0].Text
}

func TestWhatsAppDeliversAuthenticationTemplate(t *testing.T) {
	fake := webtest.NewFakeHTTP(t, webtest.Reply{Status: http.StatusOK, Body: whatsAppSent})
	e := whatsAppEnv(t, fake)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())

	reqs := fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests to the Cloud API", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/v21.0/"+whatsAppPhoneID+"/messages" || r.Query != "" {
		t.Errorf("request %s %s?%s", r.Method, r.Path, r.Query)
	}
	if r.Header.Get("Authorization") != "Bearer "+whatsAppToken || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", r.Header)
	}
	code := whatsAppCode(t, r)
	if !codeRE.MatchString(code) || string(r.Body) != whatsAppRequestBody("+"+webtest.USPhone, code) {
		t.Errorf("body %s", r.Body)
	}
	row := lastOutbox(t, e)
	if row.State != "sent" || row.Channel != "whatsapp" || row.Code != "" || strings.Contains(row.Body, code) {
		t.Errorf("outbox %+v", row)
	}
	as := attempts(t, e)
	if len(as) != 1 || as[0].Channel != "whatsapp" || as[0].Status != "sent" || as[0].HTTPStatus != 200 ||
		as[0].ProviderRef != "wamid.HBgLMTIwMTU1NTAxMjMVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA" {
		t.Errorf("attempts %+v", as)
	}
	e.Verify(webtest.USPhone, code).ExpectOK(t)
	if strings.Contains(e.Logs(), code) || strings.Contains(e.Logs(), whatsAppToken) {
		t.Error("the code or the token reached the log")
	}
}

// The template goes in the language of the code's message when the
// template has it, else in the first listed.
func TestWhatsAppTemplateLanguage(t *testing.T) {
	fake := webtest.NewFakeHTTP(t, webtest.Reply{Status: http.StatusOK, Body: whatsAppSent})
	args := append([]string{"--otp-channel", "whatsapp", "--otp-resend-cooldown", "0s"}, whatsAppArgs(fake)...)
	e := deliveryEnv(t, map[string]string{web.EnvWhatsAppToken: whatsAppToken},
		append(args, "--whatsapp-template-language", "en_US,fr,pt_BR")...)
	for _, tc := range []struct{ phone, lang, want string }{
		{webtest.FRPhone, "", "fr"},         // the country's language
		{webtest.USPhone, "pt-BR", "pt_BR"}, // the app's
		{webtest.USPhone, "de", "en_US"},    // not a language of the template: the first
		{"4915123456789", "", "en_US"},      // nor the country's
	} {
		p := webtest.LoginParams(tc.phone)
		if tc.lang != "" {
			p["lang"] = tc.lang
		}
		e.JSON(p).ExpectOK(t)
		e.Server.Worker().RunOnce(context.Background())
		reqs := fake.Requests()
		var body struct {
			Template struct{ Language struct{ Code string } }
		}
		json.Unmarshal(reqs[len(reqs)-1].Body, &body)
		if body.Template.Language.Code != tc.want {
			t.Errorf("%s %q: template language %q, want %q", tc.phone, tc.lang, body.Template.Language.Code, tc.want)
		}
	}
}

func TestWhatsAppErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		reply  webtest.Reply
		state  string
		errmsg string
	}{
		{"no WhatsApp account: permanent", webtest.Reply{Status: 400,
			Body: `{"error":{"message":"Message undeliverable.","type":"OAuthException","code":131026,"fbtrace_id":"Az8or2yhqkZfEZ-_4Qn_Bam"}}`},
			"failed", "whatsapp: HTTP 400, error 131026: Message undeliverable."},
		{"bad token: permanent", webtest.Reply{Status: 401,
			Body: `{"error":{"message":"Error validating access token: Session has expired.","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"A"}}`},
			"failed", "whatsapp: HTTP 401, error 190: Error validating access token: Session has expired. (subcode 463)"},
		{"throughput reached: retried", webtest.Reply{Status: 400,
			Body: `{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,"fbtrace_id":"A"}}`},
			"pending", "whatsapp: HTTP 400, error 130429: (#130429) Rate limit hit"},
		{"pair rate limit: retried", webtest.Reply{Status: 400,
			Body: `{"error":{"message":"(#131056) (Business Account, Consumer Account) pair rate limit hit","code":131056}}`},
			"pending", "whatsapp: HTTP 400, error 131056: (#131056) (Business Account, Consumer Account) pair rate limit hit"},
		{"server error: retried", webtest.Reply{Status: 500, Body: `<html>oops</html>`},
			"pending", `whatsapp: HTTP 500: unreadable reply "<html>oops</html>"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := webtest.NewFakeHTTP(t, tc.reply)
			e := whatsAppEnv(t, fake)
			e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
			e.Server.Worker().RunOnce(context.Background())
			if row := lastOutbox(t, e); row.State != tc.state || row.LastError != tc.errmsg {
				t.Errorf("outbox %+v", row)
			}
			if as := attempts(t, e); len(as) != 1 || as[0].Channel != "whatsapp" || as[0].HTTPStatus != tc.reply.Status {
				t.Errorf("attempts %+v", as)
			}
		})
	}
}

func TestWhatsAppAcceptedWithGarbageIsNotResent(t *testing.T) {
	fake := webtest.NewFakeHTTP(t, webtest.Reply{Status: http.StatusOK, Body: `{"messages":[]}`})
	e := whatsAppEnv(t, fake)
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	if row := lastOutbox(t, e); row.State != "sent" {
		t.Errorf("outbox %+v", row)
	}
	if as := attempts(t, e); len(as) != 1 || as[0].ProviderRef != "(unreadable reply)" {
		t.Errorf("attempts %+v", as)
	}
}

func TestWhatsAppConfig(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--otp-channel", "whatsapp"}, "--whatsapp-phone-number-id and --whatsapp-template"},
		{[]string{"--otp-channel", "whatsapp", "--whatsapp-phone-number-id", "1", "--whatsapp-template", "t", "--whatsapp-base-url", "graph.facebook.com"}, "--whatsapp-base-url"},
		{[]string{"--otp-channel", "whatsapp", "--whatsapp-phone-number-id", "1", "--whatsapp-template", "t", "--whatsapp-template-language", ""}, "--whatsapp-template-language"},
		{[]string{"--otp-channel", "voice"}, "--webhook-url"},
	} {
		_, err := web.ParseConfig("roster", tc.args, func(string) string { return "" }, discardWriter{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		}
	}
	cfg, err := web.ParseConfig("roster", []string{"--data-dir", t.TempDir(), "--otp-channel", "whatsapp",
		"--whatsapp-phone-number-id", "1", "--whatsapp-template", "t"}, func(string) string { return "" }, discardWriter{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = web.New(context.Background(), cfg, discardLog(), web.Options{Getenv: func(string) string { return "" }})
	if err == nil || !strings.Contains(err.Error(), "ROSTER_WHATSAPP_TOKEN") {
		t.Errorf("start without the token: %v", err)
	}
}

// Voice is a webhook kind: the same URL and signature, the payload naming
// the channel so the receiver places a call instead of sending a text.
func TestVoiceChannelPostsToTheWebhook(t *testing.T) {
	fake := webtest.NewFakeHTTP(t, webtest.Reply{Status: 204})
	e := deliveryEnv(t, map[string]string{"ROSTER_WEBHOOK_SECRET": hookSecret},
		"--otp-channel", "voice", "--webhook-url", fake.URL+"/calls", "--voice-template", "Your code is {code}.")
	e.JSON(webtest.LoginParams(webtest.FRPhone)).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	reqs := fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d webhook calls", len(reqs))
	}
	secret, _ := delivery.ParseWebhookSecret(hookSecret)
	if err := delivery.VerifyWebhook(secret, reqs[0].Header, reqs[0].Body, e.Clock.Now(), time.Minute); err != nil {
		t.Errorf("signature: %v", err)
	}
	var p delivery.WebhookPayload
	if err := json.Unmarshal(reqs[0].Body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Channel != "voice" || p.Type != "otp" || p.To != "+"+webtest.FRPhone || p.Message != "Your code is "+p.Code+"." {
		t.Errorf("payload %+v", p)
	}
	if row := lastOutbox(t, e); row.Channel != "voice" || row.State != "sent" {
		t.Errorf("outbox %+v", row)
	}
	// An email address is not reachable by a call.
	r := e.JSON(webtest.LoginParams("alice@example.org"))
	r.ExpectFail(t, "BADPHONE")
}
