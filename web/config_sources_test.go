package web_test

import (
	"io"
	"testing"

	"roster/web"
)

// Every flag knows where its value came from: the settings page says it.
func TestConfigSources(t *testing.T) {
	env := map[string]string{"ROSTER_OTP_TTL": "10m", "ROSTER_LOG_LEVEL": "debug", "ROSTER_NEW_DATABASE": "false"}
	cfg, err := web.ParseConfig("roster", []string{"--log-level", "warn", "--new-database"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]web.FlagSetting{}
	for _, f := range cfg.Flags {
		got[f.Name] = f
	}
	for name, want := range map[string][2]string{
		"otp-ttl":      {"10m0s", web.SourceEnv},
		"log-level":    {"warn", web.SourceFlag}, // flags win over the environment
		"new-database": {"true", web.SourceFlag}, // a bool flag without a value still parses
		"addr":         {":8080", web.SourceDefault},
	} {
		if f := got[name]; f.Value != want[0] || f.Source != want[1] {
			t.Errorf("%s = %q from %q, want %q from %q", name, f.Value, f.Source, want[0], want[1])
		}
	}
	if cfg.LogLevel != "warn" || !cfg.NewDatabase || cfg.OTP.TTL.Minutes() != 10 {
		t.Errorf("values not applied: %q %v %v", cfg.LogLevel, cfg.NewDatabase, cfg.OTP.TTL)
	}
}
