package web

import (
	"strings"

	"roster/views"
)

// The settings page: every flag, grouped as an administrator looks for it,
// with its value as FlagSetting.shown writes it (readable, redacted; the
// start-up log shows the same), secrets only as set or not set, and where
// each value came from.

// settingGroups names the page's groups in order; a flag goes to the first
// group one of whose prefixes it starts with, the rest to "Server".
func settingGroups() []struct {
	title, id string
	prefixes  []string
} {
	return []struct {
		title, id string
		prefixes  []string
	}{
		{"Sign-in policy", "sign-in", []string{"otp-ttl", "otp-max", "otp-lock", "otp-resend", "otp-phone", "otp-ip", "test-numbers", "demo-code", "token-lifetime", "session-touch", "retention", "app-ids"}},
		{"Fraud guard", "fraud", []string{"otp-prefix", "otp-country", "otp-watch", "otp-daily-budget", "otp-cost"}},
		{"Delivery of codes", "delivery", []string{"otp-channel", "console-", "twilio-", "webhook-", "smtp-", "whatsapp-", "voice-", "otp-fallback", "android-app-hash", "webotp-", "sms-", "mesibo-", "token-issuer"}},
		{"Contacts", "contacts", []string{"contacts-"}},
		{"Files", "files", []string{"photo-", "uploads-", "files-", "s3-"}},
		{"Events", "events", []string{"event-", "fanout-"}},
		{"Push notifications", "push", []string{"push", "fcm-", "apns-"}},
		{"Server", "server", nil},
	}
}

func settingsOf(cfg Config, getenv func(string) string) []views.SettingGroupVM {
	groups := settingGroups()
	out := make([]views.SettingGroupVM, len(groups))
	for i, g := range groups {
		out[i] = views.SettingGroupVM{Title: g.title, ID: g.id}
	}
	for _, f := range cfg.Flags {
		i := len(groups) - 1
	find:
		for j, g := range groups {
			for _, p := range g.prefixes {
				if strings.HasPrefix(f.Name, p) {
					i = j
					break find
				}
			}
		}
		out[i].Rows = append(out[i].Rows, views.SettingVM{Name: f.Name, Env: EnvName(f.Name), Value: f.shown(),
			Source: f.Source, Help: f.Usage})
	}
	secrets := views.SettingGroupVM{Title: "Secrets (environment, or a file named by NAME_FILE)", ID: "secrets"}
	for _, s := range secretVars() {
		v, src := "not set", SourceDefault
		switch {
		case getenv(s.env+secretFileSuffix) != "":
			v, src = "set from the file in $"+s.env+secretFileSuffix, SourceEnv
		case getenv(s.env) != "":
			v, src = "set", SourceEnv
		case s.key != "" && cfg.DatabaseURL != "":
			v = "not set (required on PostgreSQL)"
		case s.key != "":
			v = "not set: generated once into the data directory's secrets/"
		}
		secrets.Rows = append(secrets.Rows, views.SettingVM{Name: s.env, Value: v, Source: src, Secret: true})
	}
	return append(out, secrets)
}
