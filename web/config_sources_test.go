package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"roster/web"
	"roster/web/webtest"
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

// startLog is the configuration as the start-up log writes it (JSON).
func startLog(t *testing.T, cfg web.Config) map[string]string {
	t.Helper()
	var b bytes.Buffer
	slog.New(slog.NewJSONHandler(&b, nil)).Info("starting roster", "config", cfg)
	var line struct{ Config map[string]string }
	if err := json.Unmarshal(b.Bytes(), &line); err != nil {
		t.Fatalf("%v: %s", err, b.String())
	}
	return line.Config
}

// The start-up log lists the database and every flag that differs from its
// default, each as the dashboard's settings page shows it (one rendering,
// one redaction), and nothing else.
func TestStartLogShowsChangedSettingsAsTheDashboard(t *testing.T) {
	args := []string{"--shutdown-timeout", "20s", "--share-text", "Join me", "--database-conns", "4", "--audit-retention", "1000h",
		"--test-numbers", "+15555550100:43214321", "--demo-code", "12341234", "--contacts-allowance", "7000", "--app-name", "Chatty"}
	e := webtest.New(t, webtest.WithArgs(args...))
	logged := startLog(t, e.Config)
	page := e.AdminLogin("alice", "owner").Get("/admin/settings")
	changed := 0
	for _, f := range e.Config.Flags {
		v, ok := logged[f.Name]
		if ok != (f.Value != f.Default) {
			t.Errorf("%s (value %q, default %q) in the log: %v", f.Name, f.Value, f.Default, ok)
			continue
		}
		if !ok {
			continue
		}
		changed++
		onPage := strings.TrimSpace(page.TestID(t, "setting-"+f.Name).Find(webtest.TestIDSelector("setting-value")).Text())
		if v != onPage {
			t.Errorf("%s: %q in the log, %q on the settings page", f.Name, v, onPage)
		}
	}
	if changed < len(args)/2 || !strings.HasPrefix(logged["database"], "SQLite ") && !strings.HasPrefix(logged["database"], "postgres") {
		t.Errorf("the log lists %d changed settings: %v", changed, logged)
	}
	for name, want := range map[string]string{"shutdown-timeout": "20 s", "demo-code": "ON (the code is not shown)",
		"test-numbers": "+15555550100 (code hidden)", "share-text": "Join me"} {
		if logged[name] != want {
			t.Errorf("%s: %q in the log, want %q", name, logged[name], want)
		}
	}
}

// One redaction rule for every URL flag, in the log as on the page: no
// query, no password.
func TestStartLogRedactsURLs(t *testing.T) {
	cfg, err := web.ParseConfig("roster", []string{"--otp-channel", "webhook", "--webhook-url", "https://sms.example/send?key=s3cret",
		"--database-url", "postgres://roster:db-password@127.0.0.1/roster", "--s3-endpoint", "https://minio:minio-secret@127.0.0.1:9000"},
		func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	logged := startLog(t, cfg)
	all, _ := json.Marshal(logged)
	for _, secret := range []string{"s3cret", "db-password", "minio-secret"} {
		if strings.Contains(string(all), secret) {
			t.Errorf("%s in the start-up log: %s", secret, all)
		}
	}
	if !strings.Contains(logged["webhook-url"], "sms.example/send") || !strings.Contains(logged["database-url"], "127.0.0.1/roster") {
		t.Errorf("the URLs are not named: %s", all)
	}
}
