package web

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"
	"time"

	"roster/models"
)

// FilesConfig says where uploaded files (profile photos, chat files) are
// stored and how they are served.
type FilesConfig struct {
	URL         string // "" = DATA-DIR/files; s3://BUCKET/PREFIX = an object store
	S3Endpoint  string // URL or host[:port] of the S3 API ("" = AWS)
	S3Region    string
	S3PathStyle bool
	// Redirect answers /files/NAME with a redirect to a presigned URL
	// valid for RedirectTTL, rather than with the file.
	Redirect    bool
	RedirectTTL time.Duration

	s3 *models.S3Config // parsed from URL and the s3 flags; nil: the data directory
}

// AWS credentials are read from the environment under their usual names
// (never from flags).
const (
	EnvAWSAccessKeyID     = "AWS_ACCESS_KEY_ID"
	EnvAWSSecretAccessKey = "AWS_SECRET_ACCESS_KEY"
	EnvAWSSessionToken    = "AWS_SESSION_TOKEN"
)

// maxRedirectTTL is S3's limit on a presigned URL's lifetime (SigV4).
const maxRedirectTTL = 7 * 24 * time.Hour

func registerFilesFlags(fs *flag.FlagSet, f *FilesConfig) {
	fs.StringVar(&f.URL, "files-url", "", "where uploaded files are stored: empty = DATA-DIR/files; s3://BUCKET/PREFIX = an S3-compatible object store (AWS S3, MinIO, Cloudflare R2), credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN")
	fs.StringVar(&f.S3Endpoint, "s3-endpoint", "", "S3 API endpoint of --files-url, e.g. https://ACCOUNT.r2.cloudflarestorage.com or http://minio:9000 (empty = AWS S3)")
	fs.StringVar(&f.S3Region, "s3-region", "", "region of the --files-url bucket (empty = asked of the store; R2: auto)")
	fs.BoolVar(&f.S3PathStyle, "s3-path-style", false, "address the bucket in the URL path (endpoint/BUCKET/KEY) rather than the host name; off: virtual hosts on AWS, the path elsewhere")
	fs.BoolVar(&f.Redirect, "files-redirect", false, "answer /files/NAME with a redirect to a short-lived presigned URL of the object store instead of serving the file (needs an s3:// --files-url)")
	fs.DurationVar(&f.RedirectTTL, "files-redirect-ttl", 15*time.Minute, "how long a presigned URL of --files-redirect is valid (1m to 7 days)")
}

// check parses the URL and the endpoint; credentials are read at start.
func (f *FilesConfig) check() []error {
	var errs []error
	if f.URL != "" {
		s3, err := parseS3URL(f.URL, f.S3Endpoint)
		if err != nil {
			errs = append(errs, err)
		}
		f.s3 = s3
		if s3 != nil {
			s3.Region, s3.PathStyle = f.S3Region, f.S3PathStyle
		}
	}
	if f.Redirect && f.URL == "" {
		errs = append(errs, errors.New("--files-redirect needs an object store: set --files-url s3://BUCKET/PREFIX"))
	}
	if f.RedirectTTL < time.Minute || f.RedirectTTL > maxRedirectTTL {
		errs = append(errs, errors.New("--files-redirect-ttl must be between 1m and 168h (S3's limit)"))
	}
	return errs
}

// parseS3URL reads s3://BUCKET/PREFIX and the endpoint.
func parseS3URL(raw, endpoint string) (*models.S3Config, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("--files-url %q is not s3://BUCKET or s3://BUCKET/PREFIX (or empty for the data directory)", redactURL(raw))
	}
	cfg := &models.S3Config{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/"), Endpoint: "s3.amazonaws.com"}
	if endpoint == "" {
		return cfg, nil
	}
	if !strings.Contains(endpoint, "://") {
		endpoint = "https://" + endpoint
	}
	e, err := url.Parse(endpoint)
	if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" || strings.Trim(e.Path, "/") != "" || e.User != nil {
		return nil, fmt.Errorf("--s3-endpoint %q is not an http(s) URL or host[:port] without a path", redactURL(endpoint))
	}
	cfg.Endpoint, cfg.Insecure = e.Host, e.Scheme == "http"
	return cfg, nil
}
