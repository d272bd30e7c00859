package web_test

import (
	"bufio"
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"roster/web"
	"roster/web/webtest"
)

// generatedKeys are the secrets Roster generates when the environment has
// none, by the name of their DATA-DIR/secrets/ file.
var generatedKeys = map[string]string{"ROSTER_OTP_KEY": "otp", "ROSTER_CONTACTS_KEY": "contacts",
	"ROSTER_COOKIE_HASH_KEY": "cookie-auth", "ROSTER_COOKIE_BLOCK_KEY": "cookie-enc"}

func runKeys(t *testing.T, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	if err := web.KeysCommand(args, &out); err != nil {
		t.Fatalf("roster keys %v: %v", args, err)
	}
	return out.String()
}

// parseEnvFile reads NAME=value lines as an environment file does, and
// fails on any other line that is not a comment.
func parseEnvFile(t *testing.T, text string) map[string]string {
	t.Helper()
	env := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("not NAME=value: %q", line)
		}
		env[name] = value
	}
	return env
}

// startsWithKeys starts Roster (in mesibo mode, which uses every key) with
// the keys in its environment: an app signs in, an admin signs in, and no
// key was generated.
func startsWithKeys(t *testing.T, keys map[string]string) {
	t.Helper()
	env := map[string]string{web.EnvMesiboAppToken: mesiboAppToken}
	for name, value := range keys {
		env[name] = value
	}
	e := webtest.New(t, webtest.WithArgs(mesiboArgs(webtest.NewFakeMesibo(t, mesiboAppToken))...), envOption(env))
	e.SignIn(webtest.USPhone, "phone-1")
	e.AdminLogin("alice", "owner")
	for _, key := range generatedKeys {
		expectNoKeyFile(t, e, key)
	}
	for _, value := range keys {
		if strings.Contains(e.Logs(), value) {
			t.Error("a key is in the log")
		}
	}
}

// `roster keys` prints every generated secret, fresh each time, in a form
// that parses back and that the start accepts; it writes no file.
func TestKeysCommand(t *testing.T) {
	t.Chdir(t.TempDir()) // where a default ./data would appear
	out := runKeys(t)
	for _, want := range []string{"every instance the same values", "changing a key over existing data breaks"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	keys := parseEnvFile(t, out)
	if len(keys) != len(generatedKeys) {
		t.Errorf("printed %d keys, want %d:\n%s", len(keys), len(generatedKeys), out)
	}
	for name := range generatedKeys {
		if len(keys[name]) != 64 {
			t.Errorf("%s is %q, want 64 hex characters", name, keys[name])
		}
		if !regexp.MustCompile(`(?m)^# \S.+\n` + name + `=`).MatchString(out) {
			t.Errorf("%s has no comment line before it", name)
		}
	}
	if again := parseEnvFile(t, runKeys(t, "--format", "env")); again["ROSTER_OTP_KEY"] == keys["ROSTER_OTP_KEY"] {
		t.Error("two runs printed the same key")
	}
	startsWithKeys(t, keys)

	var secret struct {
		Kind       string            `yaml:"kind"`
		StringData map[string]string `yaml:"stringData"`
	}
	if err := yaml.Unmarshal([]byte(runKeys(t, "--format", "yaml")), &secret); err != nil {
		t.Fatal(err)
	}
	if secret.Kind != "Secret" || len(secret.StringData) != len(generatedKeys) {
		t.Fatalf("not a Secret with the %d keys: %+v", len(generatedKeys), secret)
	}
	startsWithKeys(t, secret.StringData)

	if entries, _ := os.ReadDir("."); len(entries) != 0 {
		t.Errorf("roster keys wrote %v", entries)
	}
	var out2 bytes.Buffer
	if err := web.KeysCommand([]string{"--format", "json"}, &out2); err == nil || !strings.Contains(err.Error(), "--format") {
		t.Errorf("--format json: %v", err)
	}
}
