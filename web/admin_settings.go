package web

import (
	"fmt"
	"strings"
	"time"

	"roster/models"
	"roster/views"
)

// The settings page: every flag, grouped as an administrator looks for it,
// with readable values (durations as "7 days", not "168h0m0s"), secrets
// only as set or not set, and where each value came from.

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
		{"Delivery of codes", "delivery", []string{"otp-channel", "console-", "twilio-", "webhook-", "smtp-", "sms-", "mesibo-", "token-issuer"}},
		{"Contacts", "contacts", []string{"contacts-"}},
		{"Files", "files", []string{"photo-", "uploads-", "files-", "s3-"}},
		{"Events", "events", []string{"event-", "fanout-"}},
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
		out[i].Rows = append(out[i].Rows, views.SettingVM{Name: f.Name, Env: EnvName(f.Name), Value: settingValue(f),
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

// settingValue is a flag's value as the page shows it.
func settingValue(f FlagSetting) string {
	switch f.Name {
	case "demo-code": // a code that signs in any number
		if f.Value == "" {
			return "off"
		}
		return "ON (the code is not shown)"
	case "test-numbers": // numbers with their fixed codes: the codes stay hidden
		var nums []string
		for _, item := range models.SplitList(f.Value) {
			n, _, _ := strings.Cut(item, ":")
			nums = append(nums, strings.TrimSpace(n)+" (code hidden)")
		}
		return noneIfEmpty(strings.Join(nums, ", "))
	case "webhook-url", "mesibo-api-url", "twilio-base-url", "files-url", "s3-endpoint", "database-url":
		return noneIfEmpty(redactURL(f.Value))
	}
	if _, err := time.ParseDuration(f.Default); err == nil {
		if d, err := time.ParseDuration(f.Value); err == nil {
			return readableDuration(d)
		}
	}
	switch f.Value {
	case "true":
		return "yes"
	case "false":
		return "no"
	}
	return noneIfEmpty(strings.ReplaceAll(f.Value, ",", ", "))
}

func noneIfEmpty(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// readableDuration writes 168h as "7 days", 5m as "5 min", 90s as "1 min 30 s".
func readableDuration(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	units := []struct {
		d          time.Duration
		one, other string
	}{{24 * time.Hour, " day", " days"}, {time.Hour, " h", " h"}, {time.Minute, " min", " min"}, {time.Second, " s", " s"}, {time.Millisecond, " ms", " ms"}}
	var parts []string
	for _, u := range units {
		if n := d / u.d; n > 0 {
			name := u.other
			if n == 1 {
				name = u.one
			}
			parts = append(parts, fmt.Sprintf("%d%s", n, name))
			d -= n * u.d
		}
	}
	return strings.Join(parts, " ")
}
