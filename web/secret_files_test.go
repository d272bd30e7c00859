package web_test

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"roster/models/s3test"
	"roster/web"
	"roster/web/webtest"
)

// secretFiles writes each secret into a file of its own (mode 0600, with
// the trailing newline an editor adds) and returns the NAME_FILE variables.
func secretFiles(t testing.TB, secrets map[string]string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{}
	for name, value := range secrets {
		path := filepath.Join(dir, strings.ToLower(name))
		if err := os.WriteFile(path, []byte(value+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		env[name+"_FILE"] = path
	}
	return env
}

func envOption(env map[string]string) webtest.Option {
	return webtest.WithOptions(func(o *web.Options) {
		o.Getenv = func(k string) string { return env[k] }
		o.Worker = testWorker
	})
}

// expectNoKeyFile fails unless the generated secret was left ungenerated:
// the server took it from where the test gave it.
func expectNoKeyFile(t testing.TB, e *webtest.Env, key string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(e.DataDir, "secrets", key+".key")); !os.IsNotExist(err) {
		t.Errorf("secrets/%s.key was generated (%v): the _FILE secret was not used", key, err)
	}
}

// Every secret can come from a NAME_FILE: the server uses it (each row
// checks the feature that needs it), the settings page says where it came
// from, and its value is in no log.
func TestSecretsFromFiles(t *testing.T) {
	fakeS3 := webtest.NewFakeS3(t)
	mesibo := webtest.NewFakeMesibo(t, mesiboAppToken)
	const key = "0123456789abcdef0123456789abcdef-from-a-file"
	signsIn := func(t testing.TB, e *webtest.Env) { e.SignIn(webtest.USPhone, "phone-1") }
	generated := func(name string) func(t testing.TB, e *webtest.Env) {
		return func(t testing.TB, e *webtest.Env) {
			signsIn(t, e)
			e.AdminLogin("alice", "owner")
			expectNoKeyFile(t, e, name)
		}
	}
	cases := []struct {
		name    string
		secrets map[string]string // variable -> value, each given through its _FILE
		args    []string
		check   func(t testing.TB, e *webtest.Env)
	}{
		{"otp key", map[string]string{"ROSTER_OTP_KEY": key}, nil, generated("otp")},
		{"contacts key", map[string]string{"ROSTER_CONTACTS_KEY": key}, nil, generated("contacts")},
		{"cookie hash key", map[string]string{"ROSTER_COOKIE_HASH_KEY": key}, nil, generated("cookie-auth")},
		{"cookie block key", map[string]string{"ROSTER_COOKIE_BLOCK_KEY": key}, nil, generated("cookie-enc")},
		{"mesibo app token", map[string]string{web.EnvMesiboAppToken: mesiboAppToken},
			mesiboArgs(mesibo), func(t testing.TB, e *webtest.Env) {
				signsIn(t, e) // the fake mesibo refuses any other app token
			}},
		{"admin password", map[string]string{"ROSTER_ADMIN_PASSWORD": "owner password from a file"}, nil,
			func(t testing.TB, e *webtest.Env) {
				expectStatus(t, e.Browser().Login("admin", "owner password from a file"), http.StatusSeeOther)
			}},
		{"metrics token", map[string]string{"ROSTER_METRICS_TOKEN": key}, nil, func(t testing.TB, e *webtest.Env) {
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			req.Header.Set("Authorization", "Bearer "+key)
			expectStatus(t, e.Do(req), http.StatusOK)
		}},
		// The delivery channels refuse to start without their secret.
		{"twilio auth token", map[string]string{web.EnvTwilioAuthToken: twilioToken},
			[]string{"--otp-channel", "twilio", "--twilio-account-sid", twilioSID, "--twilio-from", "+15005550006"}, nil},
		{"webhook secret", map[string]string{web.EnvWebhookSecret: hookSecret},
			[]string{"--otp-channel", "webhook", "--webhook-url", "https://sms.example/send"}, nil},
		{"smtp password", map[string]string{web.EnvSMTPPassword: "mail-password"},
			[]string{"--otp-channel", "smtp", "--smtp-host", "127.0.0.1", "--smtp-username", "roster", "--smtp-from", "codes@chatty.example"}, nil},
		// The start checks the bucket with the credentials.
		{"aws credentials", map[string]string{web.EnvAWSAccessKeyID: s3test.KeyID, web.EnvAWSSecretAccessKey: s3test.Secret,
			web.EnvAWSSessionToken: "session-token-from-a-file"}, fakeS3.Args("files-from-file"), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := webtest.New(t, webtest.WithArgs(tc.args...), envOption(secretFiles(t, tc.secrets)))
			if tc.check != nil {
				tc.check(t, e)
			}
			settings := body(e.AdminLogin("settings-reader", "owner").Get("/admin/settings"))
			for name, value := range tc.secrets {
				if !strings.Contains(settings, "set from the file in $"+name+"_FILE") {
					t.Errorf("the settings page does not show %s as read from its file", name)
				}
				if strings.Contains(e.Logs(), value) || strings.Contains(settings, value) {
					t.Errorf("the value of %s is in the log or on the settings page", name)
				}
			}
		})
	}
}

// A _FILE that cannot be used stops the start, naming the variable and
// never the secret.
func TestSecretFileErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := secretFiles(t, map[string]string{"ROSTER_OTP_KEY": "0123456789abcdef0123456789abcdef-good"})
	cases := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"missing file", map[string]string{"ROSTER_CONTACTS_KEY_FILE": filepath.Join(dir, "nope")},
			[]string{"ROSTER_CONTACTS_KEY_FILE", "no such file"}},
		{"a directory", map[string]string{"ROSTER_SMTP_PASSWORD_FILE": dir}, []string{"ROSTER_SMTP_PASSWORD_FILE", "is a directory"}},
		{"empty file", map[string]string{"ROSTER_COOKIE_HASH_KEY_FILE": empty}, []string{"ROSTER_COOKIE_HASH_KEY_FILE", "is empty"}},
		{"both set", map[string]string{"ROSTER_OTP_KEY": "0123456789abcdef0123456789abcdef-env", "ROSTER_OTP_KEY_FILE": good["ROSTER_OTP_KEY_FILE"]},
			[]string{"ROSTER_OTP_KEY and ROSTER_OTP_KEY_FILE are both set"}},
		{"too short, as from the environment", secretFiles(t, map[string]string{"ROSTER_OTP_KEY": "short"}),
			[]string{"otp secret", "at least 32 characters"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := expectStartFailure(t, nil, func(k string) string { return tc.env[k] }, tc.want...)
			if strings.Contains(err.Error(), "0123456789abcdef") {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
}

// A secret file that every user may read starts, with a warning that names
// the variable and the mode, not the value.
func TestWorldReadableSecretFileWarns(t *testing.T) {
	const pw = "owner password readable by all"
	env := secretFiles(t, map[string]string{"ROSTER_ADMIN_PASSWORD": pw})
	if err := os.Chmod(env["ROSTER_ADMIN_PASSWORD_FILE"], 0o644); err != nil {
		t.Fatal(err)
	}
	private := secretFiles(t, map[string]string{"ROSTER_METRICS_TOKEN": "a-metrics-token-of-at-least-32-characters"})
	maps.Copy(env, private)
	e := webtest.New(t, envOption(env))
	logs := e.Logs()
	if !strings.Contains(logs, "readable by every user") || !strings.Contains(logs, "ROSTER_ADMIN_PASSWORD_FILE") || !strings.Contains(logs, "-rw-r--r--") {
		t.Errorf("no warning naming the file's variable and mode:\n%s", logs)
	}
	if strings.Contains(logs, "ROSTER_METRICS_TOKEN_FILE") {
		t.Errorf("a warning about a file only its owner reads:\n%s", logs)
	}
	if strings.Contains(logs, pw) {
		t.Error("the password is in the log")
	}
	expectStatus(t, e.Browser().Login("admin", pw), http.StatusSeeOther)
}

// The "roster seed" command reads its keys from _FILE too.
func TestSeedReadsSecretFiles(t *testing.T) {
	data := t.TempDir()
	env := secretFiles(t, map[string]string{"ROSTER_OTP_KEY": "0123456789abcdef0123456789abcdef-otp",
		"ROSTER_CONTACTS_KEY": "0123456789abcdef0123456789abcdef-contacts"})
	err := web.Seed(context.Background(), []string{"--data-dir", data, "--users", "3", "--books", "1", "--popular", "0"},
		func(k string) string { return env[k] }, io.Discard, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"otp", "contacts"} {
		if _, err := os.Stat(filepath.Join(data, "secrets", key+".key")); !os.IsNotExist(err) {
			t.Errorf("secrets/%s.key was generated", key)
		}
	}
}
