package web

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"roster/models"
)

// fileStoreCheckTimeout bounds the start's check of an object store.
const fileStoreCheckTimeout = 15 * time.Second

// openFiles opens the file store of the configuration: the data
// directory's files/ by default, else the bucket of --files-url, checked
// with one request so that a wrong endpoint, bucket or credentials stop
// the start with the setting's name.
func openFiles(ctx context.Context, cfg Config, getenv func(string) string) (models.FileStore, error) {
	if cfg.Files.s3 == nil {
		return models.NewDirFiles(filepath.Join(cfg.DataDir, "files"))
	}
	s3 := *cfg.Files.s3
	s3.AccessKeyID, s3.SecretAccessKey, s3.SessionToken = getenv(EnvAWSAccessKeyID), getenv(EnvAWSSecretAccessKey), getenv(EnvAWSSessionToken)
	if s3.AccessKeyID == "" || s3.SecretAccessKey == "" {
		return nil, fmt.Errorf("--files-url %s: set %s and %s in the environment", cfg.Files.URL, EnvAWSAccessKeyID, EnvAWSSecretAccessKey)
	}
	store, err := models.NewS3Files(s3)
	if err != nil {
		return nil, fmt.Errorf("--files-url %s with --s3-endpoint %q: %w", cfg.Files.URL, cfg.Files.S3Endpoint, err)
	}
	ctx, cancel := context.WithTimeout(ctx, fileStoreCheckTimeout)
	defer cancel()
	if err := store.Check(ctx); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("no answer within %s", fileStoreCheckTimeout)
		}
		return nil, fmt.Errorf("--files-url %s (--s3-endpoint %q): %w", cfg.Files.URL, endpointOrAWS(cfg.Files.S3Endpoint), err)
	}
	return store, nil
}

func endpointOrAWS(endpoint string) string {
	if endpoint == "" {
		return "AWS S3"
	}
	return redactURL(endpoint)
}

// filesRedirect is how long the presigned URLs /files/NAME redirects to
// are valid; 0 serves the files.
func filesRedirect(f FilesConfig) time.Duration {
	if !f.Redirect {
		return 0
	}
	return f.RedirectTTL
}
