// Code messages per language (the request's lang, Accept-Language, the
// number's country) and their autofill shapes: the iOS word "code" by the
// digits, the Android SMS Retriever hash, the WebOTP last line.

package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"roster/web"
	"roster/web/delivery"
	"roster/web/webtest"
)

// askCode asks for a code for phone with the lang parameter (unless "")
// and an Accept-Language header (unless ""), and returns the console
// channel's message (the console keeps its text) and the code.
func askCode(t *testing.T, e *webtest.Env, phone, lang, accept string) (string, string) {
	t.Helper()
	params := webtest.LoginParams(phone)
	if lang != "" {
		params["lang"] = lang
	}
	b, _ := json.Marshal(params)
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	if accept != "" {
		req.Header.Set("Accept-Language", accept)
	}
	e.Do(req).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	body := lastOutbox(t, e).Body
	return body, codeRE.FindString(body)
}

func TestCodeMessageLanguage(t *testing.T) {
	const brPhone = "5511987654321"
	for _, tc := range []struct {
		name, phone, lang, accept, want string
	}{
		{"lang parameter", webtest.USPhone, "fr", "", "{code} est votre code Roster. Il est valable 5 minutes. Ne le partagez pas."},
		{"lang parameter with a region", webtest.USPhone, "pt-BR", "", "{code} é o seu código do Roster. Válido por 5 minutos. Não o compartilhe."},
		{"lang wins over Accept-Language", webtest.USPhone, "it", "de", "{code} è il tuo codice Roster. È valido per 5 minuti. Non condividerlo."},
		{"Accept-Language", webtest.USPhone, "", "nl, de-CH;q=0.8, en;q=0.5", "{code} ist Ihr Roster-Code. Er ist 5 Minuten gültig. Geben Sie ihn nicht weiter."},
		{"Accept-Language Chinese", webtest.USPhone, "", "zh-CN,zh;q=0.9", "{code} 是您的 Roster 验证码，5 分钟内有效。请勿告诉他人。"},
		{"the country of a French number", webtest.FRPhone, "", "", "{code} est votre code Roster. Il est valable 5 minutes. Ne le partagez pas."},
		{"the country of a Brazilian number", brPhone, "", "", "{code} é o seu código do Roster. Válido por 5 minutos. Não o compartilhe."},
		{"an unshipped language: the country's", webtest.FRPhone, "nl", "", "{code} est votre code Roster. Il est valable 5 minutes. Ne le partagez pas."},
		{"an unreadable header: the country's", "4915123456789", "", "!!;q=x,,;", "{code} ist Ihr Roster-Code. Er ist 5 Minuten gültig. Geben Sie ihn nicht weiter."},
		{"a US number without preference", webtest.USPhone, "", "", "{code} is your Roster code. It is valid for 5 minutes. Do not share it."},
		{"Russian", webtest.USPhone, "ru", "", "{code} — ваш код Roster. Действует 5 мин. Никому его не сообщайте."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := webtest.New(t)
			body, code := askCode(t, e, tc.phone, tc.lang, tc.accept)
			if want := strings.ReplaceAll(tc.want, "{code}", code); body != want {
				t.Errorf("message %q, want %q", body, want)
			}
			e.Verify(tc.phone, code).ExpectOK(t)
		})
	}
}

// iOS offers a code from a message that calls it a code: the word stands
// right after the digits, in every shipped language.
func TestCodeMessageNamesTheCodeNextToTheDigits(t *testing.T) {
	words := map[string]string{"en": " is your Roster code", "fr": " est votre code", "de": " ist Ihr Roster-Code",
		"es": " es tu código", "pt": " é o seu código", "it": " è il tuo codice", "ru": " — ваш код", "ar": " هو رمز",
		"hi": " आपका Roster कोड", "zh": " 是您的 Roster 验证码"}
	e := webtest.New(t, webtest.WithArgs("--otp-resend-cooldown", "0s", "--otp-phone-hourly", "20", "--otp-phone-daily", "20"))
	for lang, word := range words {
		body, code := askCode(t, e, webtest.USPhone, lang, "")
		if !strings.HasPrefix(body, code+word) {
			t.Errorf("%s: %q does not name the code right after it", lang, body)
		}
	}
}

func TestCodeMessageAutofillLines(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"Android app hash last", []string{"--android-app-hash", "FA+9qCX9VSu"},
			"{code} is your Roster code. It is valid for 5 minutes. Do not share it.\n\nFA+9qCX9VSu"},
		{"WebOTP line last", []string{"--webotp-host", "app.example.com"},
			"{code} is your Roster code. It is valid for 5 minutes. Do not share it.\n\n@app.example.com #{code}"},
		{"both: the WebOTP line last", []string{"--android-app-hash", "FA+9qCX9VSu", "--webotp-host", "app.example.com"},
			"{code} is your Roster code. It is valid for 5 minutes. Do not share it.\n\nFA+9qCX9VSu\n@app.example.com #{code}"},
		{"the operator's text stays, in every language", []string{"--console-template", "Chatty: {code}", "--webotp-host", "app.example.com"},
			"Chatty: {code}\n\n@app.example.com #{code}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := webtest.New(t, webtest.WithArgs(tc.args...))
			body, code := askCode(t, e, webtest.USPhone, "fr-FR", "")
			if !strings.HasPrefix(tc.name, "the operator") {
				tc.want = strings.Replace(tc.want, "{code} is your Roster code. It is valid for 5 minutes. Do not share it.",
					"{code} est votre code Roster. Il est valable 5 minutes. Ne le partagez pas.", 1)
			}
			if want := strings.ReplaceAll(tc.want, "{code}", code); body != want {
				t.Errorf("message %q, want %q", body, want)
			}
		})
	}
}

// An SMS through Twilio carries the lines; an email and a call do not.
func TestAutofillLinesOnlyInTexts(t *testing.T) {
	sms := webtest.NewFakeHTTP(t, webtest.Reply{Status: http.StatusCreated, Body: twilioCreated})
	e := twilioEnv(t, sms, "--webotp-host", "app.example.com", "--android-app-hash", "FA+9qCX9VSu")
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	form, _ := url.ParseQuery(string(sms.Requests()[0].Body))
	code := codeRE.FindString(form.Get("Body"))
	if !strings.HasSuffix(form.Get("Body"), "\n\nFA+9qCX9VSu\n@app.example.com #"+code) {
		t.Errorf("SMS %q", form.Get("Body"))
	}

	hook := webtest.NewFakeHTTP(t, webtest.Reply{Status: 204})
	mail := webtest.NewFakeSMTP(t)
	v := deliveryEnv(t, map[string]string{"ROSTER_WEBHOOK_SECRET": hookSecret}, "--otp-channel", "voice,smtp",
		"--webhook-url", hook.URL, "--smtp-host", "127.0.0.1", "--smtp-port", itoa(mail.Port), "--smtp-tls", "none",
		"--smtp-from", "codes@example.org", "--webotp-host", "app.example.com", "--android-app-hash", "FA+9qCX9VSu")
	v.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	v.JSON(webtest.LoginParams("alice@example.org")).ExpectOK(t)
	v.Server.Worker().RunOnce(context.Background())
	var p delivery.WebhookPayload
	json.Unmarshal(hook.Requests()[0].Body, &p)
	if strings.Contains(p.Message, "\n") || len(mail.Mails()) != 1 || strings.Contains(mail.Mails()[0].Data, "app.example.com") ||
		strings.Contains(mail.Mails()[0].Data, "FA+9qCX9VSu") {
		t.Errorf("call %q, mails %+v", p.Message, mail.Mails())
	}
}

// A code moved to the next channel keeps the language it was asked in.
func TestFallbackKeepsTheLanguage(t *testing.T) {
	sms := webtest.NewFakeHTTP(t, webtest.Reply{Status: 400, Body: `{"code":21612,"message":"unreachable","status":400}`})
	hook := webtest.NewFakeHTTP(t, webtest.Reply{Status: 204})
	e := deliveryEnv(t, map[string]string{"ROSTER_TWILIO_AUTH_TOKEN": twilioToken, "ROSTER_WEBHOOK_SECRET": hookSecret},
		"--otp-channel", "twilio,voice", "--twilio-base-url", sms.URL, "--twilio-account-sid", twilioSID,
		"--twilio-from", "+15005550006", "--webhook-url", hook.URL)
	p := webtest.LoginParams(webtest.USPhone)
	p["lang"] = "es"
	e.JSON(p).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	if len(hook.Requests()) != 1 {
		t.Fatalf("%d calls", len(hook.Requests()))
	}
	var call delivery.WebhookPayload
	json.Unmarshal(hook.Requests()[0].Body, &call)
	if call.Channel != "voice" || call.Message != call.Code+" es tu código de Roster. Es válido durante 5 minutos. No lo compartas." {
		t.Errorf("call %+v", call)
	}
}

func TestAutofillConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--android-app-hash", "short"}, "--android-app-hash"},
		{[]string{"--android-app-hash", "FA+9qCX9VS!"}, "--android-app-hash"},
		{[]string{"--webotp-host", "https://app.example.com"}, "--webotp-host"},
		{[]string{"--webotp-host", "app.example.com:8443"}, "--webotp-host"},
		{[]string{"--webotp-host", "App.Example.com"}, "--webotp-host"},
	} {
		_, err := web.ParseConfig("roster", tc.args, func(string) string { return "" }, discardWriter{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		}
	}
}
