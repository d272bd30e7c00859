package models

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/language"
)

// Code messages in the person's language, shaped so that phones fill the
// code in: the word for "code" next to the digits (iOS offers a code from a
// message that says it is one), the app's hash on a line of its own for
// Android's SMS Retriever, and the WebOTP line last.

// codeTemplate returns the message shipped for a language ("" for none):
// {code}, {app} and {minutes} are replaced. Each names the code with the
// language's word for it, next to the digits.
func codeTemplate(lang string) string {
	switch lang {
	case "en":
		return "{code} is your {app} code. It is valid for {minutes} minutes. Do not share it."
	case "fr":
		return "{code} est votre code {app}. Il est valable {minutes} minutes. Ne le partagez pas."
	case "de":
		return "{code} ist Ihr {app}-Code. Er ist {minutes} Minuten gültig. Geben Sie ihn nicht weiter."
	case "es":
		return "{code} es tu código de {app}. Es válido durante {minutes} minutos. No lo compartas."
	case "pt":
		return "{code} é o seu código do {app}. Válido por {minutes} minutos. Não o compartilhe."
	case "it":
		return "{code} è il tuo codice {app}. È valido per {minutes} minuti. Non condividerlo."
	case "ru":
		return "{code} — ваш код {app}. Действует {minutes} мин. Никому его не сообщайте."
	case "ar":
		return "{code} هو رمز {app} الخاص بك. صالح لمدة {minutes} دقيقة. لا تشاركه مع أحد."
	case "hi":
		return "{code} आपका {app} कोड है। यह {minutes} मिनट के लिए मान्य है। इसे किसी के साथ साझा न करें।"
	case "zh":
		return "{code} 是您的 {app} 验证码，{minutes} 分钟内有效。请勿告诉他人。"
	}
	return ""
}

// DefaultCodeLanguage is the language of a message when neither the request
// nor the number's country names a shipped one.
const DefaultCodeLanguage = "en"

// codeLanguages lists the shipped languages, the default first (the
// matcher's answer when nothing matches).
func codeLanguages() []string {
	return []string{"en", "fr", "de", "es", "pt", "it", "ru", "ar", "hi", "zh"}
}

// maxLanguagePreference bounds the preference read: an Accept-Language
// header names a few languages in far fewer bytes.
const maxLanguagePreference = 256

// languageMatcher matches preferences against the shipped languages.
type languageMatcher struct {
	m     language.Matcher
	langs []string
	// byRegion caches each region's language (a string by ISO region):
	// matching a region takes about 0.1 ms, a map lookup nothing.
	byRegion *sync.Map
}

func newLanguageMatcher() languageMatcher {
	langs := codeLanguages()
	tags := make([]language.Tag, len(langs))
	for i, l := range langs {
		tags[i] = language.Make(l)
	}
	return languageMatcher{m: language.NewMatcher(tags), langs: langs, byRegion: &sync.Map{}}
}

// choose returns the shipped language of a code message: the best match of
// the client's preference (the request's lang parameter or its
// Accept-Language header, in that syntax), else the usual language of the
// number's country, else DefaultCodeLanguage.
func (lm languageMatcher) choose(preference string, p Phone) string {
	if preference != "" && len(preference) <= maxLanguagePreference {
		if want, _, err := language.ParseAcceptLanguage(preference); err == nil && len(want) > 0 {
			if _, i, conf := lm.m.Match(want...); conf != language.No {
				return lm.langs[i]
			}
		}
	}
	if p.IsEmail() {
		return DefaultCodeLanguage
	}
	region := p.Region()
	if l, ok := lm.byRegion.Load(region); ok {
		return l.(string)
	}
	l := lm.regionLanguage(region)
	lm.byRegion.Store(region, l)
	return l
}

// regionLanguage is the shipped language most used in an ISO region
// ("und-FR" matched: CLDR's likely subtags, which the matcher applies),
// else DefaultCodeLanguage.
func (lm languageMatcher) regionLanguage(region string) string {
	if region == "" {
		return DefaultCodeLanguage
	}
	if tag, err := language.Parse("und-" + region); err == nil {
		if _, i, conf := lm.m.Match(tag); conf != language.No {
			return lm.langs[i]
		}
	}
	return DefaultCodeLanguage
}

// CodeMessages renders code messages.
type CodeMessages struct {
	AppName string
	TTL     time.Duration
	// Overrides are the operator's texts per channel: they win over the
	// shipped language's.
	Overrides map[string]string
	// Autofill lists the channels whose messages to phone numbers are
	// texts a phone reads (SMS): they get the lines below.
	Autofill map[string]bool
	// AndroidAppHash is the 11-character hash of the Android app for the
	// SMS Retriever API ("" = none).
	AndroidAppHash string
	// WebOTPHost is the host of the web app that reads the code through the
	// WebOTP API ("" = none).
	WebOTPHost string
}

// Render returns the message of a code sent by channel to p in lang (a
// shipped language; another is read as the default).
func (c CodeMessages) Render(channel, lang, code string, p Phone) string {
	t, ok := c.Overrides[channel]
	if !ok {
		if t = codeTemplate(lang); t == "" {
			t = codeTemplate(DefaultCodeLanguage)
		}
	}
	minutes := max(int(c.TTL.Round(time.Minute)/time.Minute), 1)
	msg := strings.NewReplacer("{code}", code, "{app}", c.AppName, "{minutes}", strconv.Itoa(minutes)).Replace(t)
	if !c.Autofill[channel] || p.IsEmail() {
		return msg
	}
	if c.AndroidAppHash != "" {
		msg += "\n\n" + c.AndroidAppHash
	}
	if c.WebOTPHost != "" {
		// The origin-bound one-time code format: the last line is
		// "@host #code" (https://wicg.github.io/sms-one-time-codes/).
		if c.AndroidAppHash == "" {
			msg += "\n"
		}
		msg += "\n@" + c.WebOTPHost + " #" + code
	}
	return msg
}
