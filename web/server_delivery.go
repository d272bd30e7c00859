package web

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"roster/models"
	"roster/web/delivery"
	"roster/web/mesibo"
)

// deliverySenders builds the configured channels. Their secrets come from
// the environment only, and a configured channel without its secret stops
// the start: a server that cannot send codes must not look healthy.
func deliverySenders(cfg Config, log *slog.Logger, clock models.Clock, getenv func(string) string, tlsConfig *tls.Config) ([]delivery.Sender, error) {
	d := cfg.Delivery
	client := &http.Client{
		// Providers answer directly; a redirect would resend credentials elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	var out []delivery.Sender
	var errs []error
	for _, ch := range d.Channels {
		switch ch {
		case ChannelConsole:
			out = append(out, delivery.Console{Log: log})
		case ChannelTwilio:
			token := getenv(EnvTwilioAuthToken)
			if token == "" {
				errs = append(errs, fmt.Errorf("the twilio channel needs $%s", EnvTwilioAuthToken))
			}
			tw := &delivery.Twilio{BaseURL: d.TwilioBaseURL, AccountSID: d.TwilioAccountSID, AuthToken: token,
				From: d.TwilioFrom, MessagingServiceSID: d.TwilioMessagingServiceSID, Client: client}
			if d.TwilioStatusCallback {
				tw.StatusCallback = cfg.BaseURL + twilioReceiptsPath
			}
			out = append(out, tw)
		case ChannelWebhook, ChannelVoice:
			raw := getenv(EnvWebhookSecret)
			secret, err := delivery.ParseWebhookSecret(raw)
			if err != nil {
				errs = append(errs, fmt.Errorf("$%s: %w", EnvWebhookSecret, err))
			} else if len(secret) < 16 {
				errs = append(errs, fmt.Errorf("the %s channel needs $%s (at least 16 bytes; whsec_<base64> or raw text)", ch, EnvWebhookSecret))
			}
			out = append(out, &delivery.Webhook{Channel: ch, URL: d.WebhookURL, Secret: secret, Client: client, Clock: clock})
		case ChannelWhatsApp:
			token := getenv(EnvWhatsAppToken)
			if token == "" {
				errs = append(errs, fmt.Errorf("the whatsapp channel needs $%s", EnvWhatsAppToken))
			}
			w := d.WhatsApp
			out = append(out, &delivery.WhatsApp{BaseURL: w.BaseURL, PhoneNumberID: w.PhoneNumberID, Token: token,
				Template: w.Template, Languages: models.SplitList(w.TemplateLanguage), Client: client})
		case ChannelSMTP:
			pw := getenv(EnvSMTPPassword)
			if d.SMTPUsername != "" && pw == "" {
				errs = append(errs, fmt.Errorf("--smtp-username is set but $%s is empty", EnvSMTPPassword))
			}
			out = append(out, &delivery.SMTP{Host: d.SMTPHost, Port: d.SMTPPort, TLSMode: d.SMTPTLS, Username: d.SMTPUsername,
				Password: pw, From: d.SMTPFrom, Subject: d.SMTPSubject, HELO: d.SMTPHELO, TLS: tlsConfig})
		}
	}
	return out, errors.Join(errs...)
}

// deliveryPolicy is the sign-in's per-address channel choice and SMS protection.
func deliveryPolicy(cfg Config) models.DeliveryPolicy {
	d := cfg.Delivery
	return models.DeliveryPolicy{
		Route:         func(p models.Phone) (string, bool) { return d.route(p.IsEmail()) },
		Routes:        func(p models.Phone) []string { return d.routes(p.IsEmail()) },
		FallbackAfter: d.FallbackAfter,
		SMSChannels:   smsChannels(),
		SMSCountries:  d.SMSCountries,
		SMSHourlyCap:  d.SMSHourlyCap,
		EmailSignIn:   d.has(ChannelSMTP),
		MessageFor: models.CodeMessages{AppName: cfg.AppName, TTL: cfg.OTP.TTL, Overrides: d.Templates,
			Autofill:       map[string]bool{ChannelTwilio: true, ChannelWebhook: true, ChannelConsole: true},
			AndroidAppHash: d.AndroidAppHash, WebOTPHost: d.WebOTPHost}.Render,
	}
}

// mesiboParts is what mesibo mode adds: the token issuer, the outbox channel that deletes users
// at mesibo and sends contact notices as mesibo messages, and the record of
// configuration failures (the degraded state). All nil otherwise.
type mesiboParts struct {
	issuer models.TokenIssuer
	jobs   delivery.Sender
	health *mesibo.Health
}

// mesiboSetup builds mesibo mode's parts when it is on.
func mesiboSetup(cfg Config, getenv func(string) string, log *slog.Logger, clock models.Clock, db *models.DB) (mesiboParts, error) {
	if cfg.Delivery.TokenIssuer != "mesibo" {
		return mesiboParts{}, nil
	}
	appToken := getenv(EnvMesiboAppToken)
	if appToken == "" {
		return mesiboParts{}, fmt.Errorf("--token-issuer mesibo needs $%s", EnvMesiboAppToken)
	}
	health := mesibo.NewHealth(log, clock.Now)
	client := &mesibo.Client{URL: cfg.Delivery.MesiboAPIURL, AppToken: appToken, Health: health, HTTP: &http.Client{
		Timeout: cfg.Delivery.MesiboTimeout,
		// Not followed: the body carries the app token, and a redirect
		// means the URL is not the API's (reported as a configuration
		// failure naming the Location).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	from := cfg.Delivery.MesiboFrom
	if from == "" {
		from = cfg.AppName
	}
	return mesiboParts{
		issuer: mesibo.Issuer{Client: client},
		jobs:   mesibo.NewJobSender(client, from, cfg.AppName, models.NewMesiboGroups(db)),
		health: health,
	}, nil
}

// mesiboStatus is the dashboard banner's text: empty unless mesibo mode is
// degraded.
func (s *Server) mesiboStatus() string {
	if !s.mesibo.Degraded() {
		return ""
	}
	return "mesibo mode is degraded: mesibo refuses Roster's requests (" + s.mesibo.Summary() +
		"). Sign-ins needing a refused op fail, and mesibo jobs wait in the outbox until it works again. Check the app token ($" +
		EnvMesiboAppToken + ") and --mesibo-api-url, then restart."
}
