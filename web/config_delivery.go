package web

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"roster/models"
	"roster/web/delivery"
	"roster/web/mesibo"
)

// DeliveryConfig configures the delivery channels of one-time codes and the
// token issuer (mesibo mode). Secrets are not here: they are read from the
// environment when the server starts (see deliverySecrets).
type DeliveryConfig struct {
	Channels []string // --otp-channel, in order of preference

	TwilioBaseURL             string
	TwilioAccountSID          string
	TwilioFrom                string
	TwilioMessagingServiceSID string

	WebhookURL string

	WhatsApp      WhatsAppConfig
	FallbackAfter time.Duration // --otp-fallback-after
	// Autofill lines of SMS texts: --android-app-hash, --webotp-host.
	AndroidAppHash string
	WebOTPHost     string
	// TwilioStatusCallback asks Twilio for delivery receipts at
	// --base-url/receipts/twilio.
	TwilioStatusCallback bool

	SMTPHost     string
	SMTPPort     int
	SMTPTLS      string
	SMTPUsername string
	SMTPFrom     string
	SMTPSubject  string
	SMTPHELO     string

	// Templates per channel: {code}, {app} and {minutes} are replaced.
	Templates map[string]string

	SMSCountriesRaw string
	SMSCountries    map[string]bool
	SMSHourlyCap    int

	TokenIssuer   string // "local" or "mesibo"
	MesiboAPIURL  string
	MesiboTimeout time.Duration
	MesiboFrom    string // sender address of contact notices sent as mesibo messages
	// MesiboDegradedUnready makes /readyz fail while mesibo refuses
	// Roster's requests for a configuration reason.
	MesiboDegradedUnready bool
	AppIDsRaw             string
	AppIDs                []string
}

// Channel names.
const (
	ChannelConsole = "console"
	ChannelTwilio  = "twilio"
	ChannelWebhook = "webhook"
	ChannelSMTP    = "smtp"
	// ChannelWhatsApp sends an authentication template through the
	// WhatsApp Business Cloud API.
	ChannelWhatsApp = "whatsapp"
	// ChannelVoice posts codes to the webhook's URL for a call that reads
	// them out (the payload's channel is "voice").
	ChannelVoice = "voice"
)

// Environment variables holding delivery secrets (environment only).
const (
	EnvTwilioAuthToken = "ROSTER_TWILIO_AUTH_TOKEN"
	EnvWebhookSecret   = "ROSTER_WEBHOOK_SECRET"
	EnvSMTPPassword    = "ROSTER_SMTP_PASSWORD"
	EnvMesiboAppToken  = "ROSTER_MESIBO_APP_TOKEN"
)

const defaultTemplate = "{code} is your {app} code. It is valid for {minutes} minutes. Do not share it."

// deliveryFlags registers the delivery flags; ParseConfig calls it.
func deliveryFlags(fs *flag.FlagSet, d *DeliveryConfig) {
	d.Templates = map[string]string{}
	fs.StringVar(&d.TwilioBaseURL, "twilio-base-url", delivery.DefaultTwilioBaseURL, "Twilio REST API base URL")
	fs.StringVar(&d.TwilioAccountSID, "twilio-account-sid", "", "Twilio account SID (the auth token is read from $"+EnvTwilioAuthToken+")")
	fs.StringVar(&d.TwilioFrom, "twilio-from", "", "Twilio sender number in E.164 (or use --twilio-messaging-service-sid)")
	fs.StringVar(&d.TwilioMessagingServiceSID, "twilio-messaging-service-sid", "", "Twilio messaging service SID (wins over --twilio-from)")
	fs.StringVar(&d.WebhookURL, "webhook-url", "", "URL receiving signed JSON POSTs of codes (the secret is read from $"+EnvWebhookSecret+")")
	fs.StringVar(&d.SMTPHost, "smtp-host", "", "SMTP server host for email codes (the password is read from $"+EnvSMTPPassword+")")
	fs.IntVar(&d.SMTPPort, "smtp-port", 587, "SMTP server port")
	fs.StringVar(&d.SMTPTLS, "smtp-tls", delivery.SMTPStartTLS, "SMTP encryption: starttls (required STARTTLS), tls (implicit TLS, port 465) or none")
	fs.StringVar(&d.SMTPUsername, "smtp-username", "", "SMTP AUTH user name (empty = no authentication)")
	fs.StringVar(&d.SMTPFrom, "smtp-from", "", "sender address of code emails")
	fs.StringVar(&d.SMTPSubject, "smtp-subject", "", "subject of code emails (default: \"Your <app name> code\")")
	fs.StringVar(&d.SMTPHELO, "smtp-helo", "", "host name sent in EHLO (default: go-mail's)")
	channelFlags(fs, d)
	for _, ch := range []string{ChannelConsole, ChannelTwilio, ChannelWebhook, ChannelSMTP, ChannelVoice} {
		fs.Func(ch+"-template", "message text of the "+ch+" channel; {code}, {app} and {minutes} are replaced (default \""+defaultTemplate+"\")",
			func(v string) error {
				if !strings.Contains(v, "{code}") {
					return errors.New("the template must contain {code}")
				}
				d.Templates[ch] = v
				return nil
			})
	}
	fs.StringVar(&d.SMSCountriesRaw, "sms-countries", "", "comma-separated ISO country codes (US,FR,...) that codes may be sent to by SMS (empty = all)")
	fs.IntVar(&d.SMSHourlyCap, "sms-hourly-cap", 1000, "most SMS codes sent in any hour, all numbers together, against SMS pumping (0 = no cap)")
	fs.StringVar(&d.TokenIssuer, "token-issuer", "local", "who issues access tokens: local (Roster) or mesibo (mesibo's backend API; app token from $"+EnvMesiboAppToken+")")
	fs.StringVar(&d.MesiboAPIURL, "mesibo-api-url", mesibo.DefaultAPIURL, "mesibo backend API URL (mesibo cloud, or an on-premise server)")
	fs.DurationVar(&d.MesiboTimeout, "mesibo-timeout", 10*time.Second, "limit of one mesibo API call")
	fs.StringVar(&d.MesiboFrom, "mesibo-notice-from", "", "mesibo mode: address of the mesibo user that sends contact notices; Roster creates it at mesibo before the first notice (default: the app name)")
	fs.BoolVar(&d.MesiboDegradedUnready, "mesibo-degraded-unready", false, "mesibo mode: /readyz fails (503) while mesibo refuses Roster's requests for a configuration reason (it is reported either way)")
	fs.StringVar(&d.AppIDsRaw, "app-ids", "", "comma-separated app ids allowed to sign in (empty = any)")
}

// finishDelivery checks the delivery settings; cfg.finish calls it.
func (cfg *Config) finishDelivery() error {
	d := &cfg.Delivery
	var errs []error
	d.Channels = models.SplitList(cfg.OTPChannel)
	if len(d.Channels) == 0 {
		errs = append(errs, errors.New("--otp-channel: name at least one channel"))
	}
	seen := map[string]bool{}
	for _, ch := range d.Channels {
		switch ch {
		case ChannelConsole, ChannelTwilio, ChannelWebhook, ChannelSMTP, ChannelWhatsApp, ChannelVoice:
		default:
			errs = append(errs, fmt.Errorf("--otp-channel: unknown channel %q (available: console, twilio, webhook, smtp, whatsapp, voice)", ch))
		}
		if seen[ch] {
			errs = append(errs, fmt.Errorf("--otp-channel: %q is listed twice", ch))
		}
		seen[ch] = true
	}
	if seen[ChannelTwilio] {
		if d.TwilioAccountSID == "" || (d.TwilioFrom == "" && d.TwilioMessagingServiceSID == "") {
			errs = append(errs, errors.New("the twilio channel needs --twilio-account-sid and --twilio-from or --twilio-messaging-service-sid"))
		}
		errs = append(errs, checkHTTPURL("--twilio-base-url", d.TwilioBaseURL))
	}
	if seen[ChannelWebhook] || seen[ChannelVoice] {
		errs = append(errs, checkHTTPURL("--webhook-url", d.WebhookURL))
	}
	if seen[ChannelWhatsApp] {
		errs = append(errs, d.WhatsApp.check())
	}
	errs = append(errs, d.checkFallback(), d.checkAutofill())
	if seen[ChannelSMTP] {
		if d.SMTPHost == "" || d.SMTPFrom == "" {
			errs = append(errs, errors.New("the smtp channel needs --smtp-host and --smtp-from"))
		}
		if d.SMTPPort <= 0 || d.SMTPPort > 65535 {
			errs = append(errs, errors.New("--smtp-port must be a TCP port"))
		}
		if d.SMTPTLS != delivery.SMTPStartTLS && d.SMTPTLS != delivery.SMTPTLS && d.SMTPTLS != delivery.SMTPNoTLS {
			errs = append(errs, fmt.Errorf("--smtp-tls must be starttls, tls or none, not %q", d.SMTPTLS))
		}
	}
	if d.SMTPSubject == "" {
		d.SMTPSubject = "Your " + cfg.AppName + " code"
	}
	d.SMSCountries = map[string]bool{}
	supported := map[string]bool{}
	for r := range phonenumbers.GetSupportedRegions() {
		supported[r] = true
	}
	for _, c := range models.SplitList(d.SMSCountriesRaw) {
		c = strings.ToUpper(c)
		if !supported[c] {
			errs = append(errs, fmt.Errorf("--sms-countries: %q is not an ISO country code", c))
		}
		d.SMSCountries[c] = true
	}
	if d.SMSHourlyCap < 0 {
		errs = append(errs, errors.New("--sms-hourly-cap must not be negative"))
	}
	switch d.TokenIssuer {
	case "local":
	case "mesibo":
		errs = append(errs, checkHTTPURL("--mesibo-api-url", d.MesiboAPIURL))
		if d.MesiboTimeout <= 0 {
			errs = append(errs, errors.New("--mesibo-timeout must be positive"))
		}
	default:
		errs = append(errs, fmt.Errorf("--token-issuer must be local or mesibo, not %q", d.TokenIssuer))
	}
	d.AppIDs = models.SplitList(d.AppIDsRaw)
	return errors.Join(errs...)
}

func checkHTTPURL(flagName, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s %q is not an http(s) URL", flagName, raw)
	}
	if u.User != nil {
		return fmt.Errorf("%s must not contain credentials: secrets come from the environment", flagName)
	}
	return nil
}

// smsChannels are the channels whose messages to phone numbers are paid
// for each (SMS, WhatsApp, calls): the pumping protections apply to them.
func smsChannels() []string {
	return []string{ChannelTwilio, ChannelWebhook, ChannelWhatsApp, ChannelVoice}
}

// route picks, for an identity, the first listed channel that can reach it.
func (d DeliveryConfig) route(isEmail bool) (string, bool) {
	chs := d.routes(isEmail)
	if len(chs) == 0 {
		return "", false
	}
	return chs[0], true
}

// routes lists, in order of preference, the channels that can reach an
// identity: phone numbers go by twilio, whatsapp, voice, webhook or
// console; email addresses by smtp, webhook or console.
func (d DeliveryConfig) routes(isEmail bool) []string {
	var out []string
	for _, ch := range d.Channels {
		switch ch {
		case ChannelConsole, ChannelWebhook:
			out = append(out, ch)
		case ChannelTwilio, ChannelWhatsApp, ChannelVoice:
			if !isEmail {
				out = append(out, ch)
			}
		case ChannelSMTP:
			if isEmail {
				out = append(out, ch)
			}
		}
	}
	return out
}

// firstChannel is the preferred channel ("console" when none was parsed).
func (d DeliveryConfig) firstChannel() string {
	if len(d.Channels) == 0 {
		return ChannelConsole
	}
	return d.Channels[0]
}

func (d DeliveryConfig) has(channel string) bool {
	for _, c := range d.Channels {
		if c == channel {
			return true
		}
	}
	return false
}

// redactURL drops the query of a URL for logs: receivers often take a key
// there.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || raw == "" {
		return raw
	}
	if u.RawQuery != "" {
		u.RawQuery = "[redacted]"
	}
	if u.User != nil {
		u.User = url.User("redacted")
	}
	return u.String()
}
