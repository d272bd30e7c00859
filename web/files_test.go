package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"roster/models/s3test"
	"roster/web"
	"roster/web/webtest"
)

// The file-store settings: parsed, refused with the setting's name, and
// listed by --help.
func TestFilesConfig(t *testing.T) {
	noEnv := func(string) string { return "" }
	cfg, err := web.ParseConfig("roster", nil, func(k string) string {
		return map[string]string{"ROSTER_FILES_URL": "s3://photos/roster/", "ROSTER_S3_ENDPOINT": "http://minio:9000",
			"ROSTER_S3_PATH_STYLE": "true", "ROSTER_FILES_REDIRECT": "1"}[k]
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if f := cfg.Files; f.URL != "s3://photos/roster/" || f.S3Endpoint != "http://minio:9000" || !f.S3PathStyle || !f.Redirect || f.RedirectTTL != 15*time.Minute {
		t.Errorf("from the environment: %+v", f)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--files-url", "http://bucket/x"}, "--files-url"},
		{[]string{"--files-url", "s3://"}, "--files-url"},
		{[]string{"--files-url", "s3://AKIAKEY:hunter2secret@bucket"}, "--files-url"},
		{[]string{"--files-url", "s3://b", "--s3-endpoint", "ftp://host"}, "--s3-endpoint"},
		{[]string{"--files-url", "s3://b", "--s3-endpoint", "https://host/path"}, "--s3-endpoint"},
		{[]string{"--files-redirect"}, "--files-redirect needs an object store"},
		{[]string{"--files-url", "s3://b", "--files-redirect-ttl", "200h"}, "--files-redirect-ttl"},
	} {
		t.Run("rejects "+strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := web.ParseConfig("roster", tc.args, noEnv, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "hunter2secret") {
				t.Errorf("err = %v, want it to name %s", err, tc.want)
			}
		})
	}
	var help strings.Builder
	_, _ = web.ParseConfig("roster", []string{"--help"}, noEnv, &help)
	for _, want := range []string{"--files-url", "ROSTER_FILES_URL", "--s3-endpoint", "--s3-region", "--s3-path-style", "--files-redirect", "--files-redirect-ttl", "AWS_ACCESS_KEY_ID"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("--help lacks %s", want)
		}
	}
}

// A store that cannot be used stops the start with the setting's name and
// what is wrong, quickly, and without the credentials.
func TestFilesStoreAtStart(t *testing.T) {
	s3 := webtest.NewFakeS3(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	creds := func(k string) string {
		return map[string]string{web.EnvAWSAccessKeyID: s3test.KeyID, web.EnvAWSSecretAccessKey: s3test.Secret}[k]
	}
	for _, tc := range []struct {
		name   string
		args   []string
		getenv func(string) string
		want   []string
	}{
		{"unreachable endpoint", []string{"--files-url", "s3://roster-files/x", "--s3-endpoint", closed.URL, "--s3-region", "us-east-1"},
			creds, []string{"--files-url s3://roster-files/x", closed.URL, "cannot be reached"}},
		{"missing bucket", []string{"--files-url", "s3://elsewhere", "--s3-endpoint", s3.URL, "--s3-region", "us-east-1", "--s3-path-style"},
			creds, []string{"--files-url s3://elsewhere", `"elsewhere" does not exist`}},
		{"no credentials", s3.Args("x"), func(string) string { return "" },
			[]string{"--files-url", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			began := time.Now()
			err := expectStartFailure(t, tc.args, tc.getenv, tc.want...)
			if strings.Contains(err.Error(), s3test.Secret) {
				t.Errorf("error shows the secret: %v", err)
			}
			if took := time.Since(began); took > 10*time.Second {
				t.Errorf("failing took %s", took)
			}
		})
	}
}
