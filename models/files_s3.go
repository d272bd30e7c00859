package models

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config locates a bucket of an S3-compatible store (AWS S3, MinIO,
// Cloudflare R2) and holds the credentials to use it.
type S3Config struct {
	Bucket string
	Prefix string // keys are PREFIX/NAME ("" = NAME)
	// Endpoint is host[:port]; Insecure speaks plain HTTP to it (a MinIO
	// on the same network, tests).
	Endpoint string
	Insecure bool
	Region   string // "" = asked of the store
	// PathStyle addresses the bucket in the path (host/bucket/key) rather
	// than in the host name (bucket.host/key); off, the client chooses
	// (virtual hosts on AWS, the path elsewhere).
	PathStyle bool

	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
}

// S3Files stores files as objects of one bucket.
type S3Files struct {
	client *minio.Client
	bucket string
	prefix string
	where  string // endpoint and bucket, for logs and errors
}

// s3Retries bounds the client's attempts at one request: its default of 10
// with backoff would keep a failing start (or upload) waiting for seconds.
const s3Retries = 3

// NewS3Files returns the store of a bucket. It makes no request: Check
// does, at start.
func NewS3Files(cfg S3Config) (*S3Files, error) {
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken),
		Secure:       !cfg.Insecure,
		Region:       cfg.Region,
		BucketLookup: lookup,
		MaxRetries:   s3Retries,
	})
	if err != nil {
		return nil, err
	}
	prefix := strings.Trim(cfg.Prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	return &S3Files{client: client, bucket: cfg.Bucket, prefix: prefix,
		where: "s3://" + cfg.Bucket + "/" + prefix + " at " + cfg.Endpoint}, nil
}

// Check asks the store whether the bucket exists (one HEAD request): a
// wrong endpoint, bucket or credentials stop the start rather than the
// first upload.
func (s *S3Files) Check(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if minio.ToErrorResponse(err).Code != "" { // an answer: wrong credentials, region, permissions
		return fmt.Errorf("the store refused access to the bucket %q: %s", s.bucket, s3Reason(err))
	}
	if err != nil {
		return fmt.Errorf("the bucket %q cannot be reached: %s", s.bucket, s3Reason(err))
	}
	if !ok {
		return fmt.Errorf("the bucket %q does not exist", s.bucket)
	}
	return nil
}

// Put uploads the whole file in one PUT: S3 shows an object only once its
// upload is complete. The object carries its content type and long
// caching (a name's content never changes), which presigned downloads
// pass on.
func (s *S3Files) Put(ctx context.Context, name string, data []byte, contentType string) error {
	if err := checkFileName(name); err != nil {
		return err
	}
	_, err := s.client.PutObject(ctx, s.bucket, s.prefix+name, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: contentType, CacheControl: immutableCaching, DisableMultipart: true})
	if err != nil {
		return fmt.Errorf("store %s in %s: %s", name, s.where, s3Reason(err))
	}
	return nil
}

// immutableCaching is the caching of stored files: their names are never
// reused.
const immutableCaching = "public, max-age=31536000, immutable"

// Open fetches an object's metadata and opens its body.
func (s *S3Files) Open(ctx context.Context, name string) (*StoredFile, error) {
	if checkFileName(name) != nil {
		return nil, notFound(name)
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s.prefix+name, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.readError(name, err)
	}
	info, err := obj.Stat() // GetObject is lazy: this is the request
	if err != nil {
		obj.Close()
		return nil, s.readError(name, err)
	}
	return &StoredFile{Body: obj, ContentType: info.ContentType, Size: info.Size}, nil
}

func (s *S3Files) readError(name string, err error) error {
	if minio.ToErrorResponse(err).StatusCode == http.StatusNotFound {
		return notFound(name)
	}
	return fmt.Errorf("read %s from %s: %s", name, s.where, s3Reason(err))
}

// Exists asks for the object's metadata (HEAD), not its bytes.
func (s *S3Files) Exists(ctx context.Context, name string) (bool, error) {
	if checkFileName(name) != nil {
		return false, nil
	}
	_, err := s.client.StatObject(ctx, s.bucket, s.prefix+name, minio.StatObjectOptions{})
	if err == nil {
		return true, nil
	}
	if err := s.readError(name, err); !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	return false, nil
}

// Delete removes an object; S3 answers a missing one as deleted.
func (s *S3Files) Delete(ctx context.Context, name string) error {
	if checkFileName(name) != nil {
		return nil
	}
	if err := s.client.RemoveObject(ctx, s.bucket, s.prefix+name, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("delete %s from %s: %s", name, s.where, s3Reason(err))
	}
	return nil
}

// SignedURL is a presigned GET of the object, valid for ttl. It carries a
// signature: it goes to the client and is never logged.
func (s *S3Files) SignedURL(ctx context.Context, name string, ttl time.Duration) (string, error) {
	if checkFileName(name) != nil {
		return "", notFound(name)
	}
	u, err := s.client.PresignedGetObject(ctx, s.bucket, s.prefix+name, ttl, url.Values{})
	if err != nil {
		return "", fmt.Errorf("presign %s in %s: %s", name, s.where, s3Reason(err))
	}
	return u.String(), nil
}

// Describe names the bucket and endpoint, never the credentials.
func (s *S3Files) Describe() string { return s.where }

// s3Reason is an error of the store without anything that could carry a
// signature: the store's own code and message, or the transport's error
// with its URL (which, for a presigned request, would hold one) removed.
func s3Reason(err error) string {
	if r := minio.ToErrorResponse(err); r.Code != "" {
		return fmt.Sprintf("%s (%s, HTTP %d)", r.Message, r.Code, r.StatusCode)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}
