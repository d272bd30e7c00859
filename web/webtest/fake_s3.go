package webtest

import (
	"testing"

	"roster/models/s3test"
	"roster/web"
)

// FakeS3 is an S3-compatible store on a real loopback HTTP server, for
// tests of a Roster with --files-url s3://.
type FakeS3 struct {
	*s3test.Server
}

// NewFakeS3 starts the store until the test ends.
func NewFakeS3(t testing.TB) *FakeS3 { return &FakeS3{s3test.Start(t)} }

// Args are the flags that store Roster's files in the bucket under prefix.
func (f *FakeS3) Args(prefix string) []string {
	return []string{"--files-url", "s3://" + f.Bucket + "/" + prefix, "--s3-endpoint", f.URL,
		"--s3-region", "us-east-1", "--s3-path-style"}
}

// Credentials gives the server the store's keys, as AWS_* variables.
func (f *FakeS3) Credentials() Option {
	return WithOptions(func(o *web.Options) {
		o.Getenv = func(name string) string {
			switch name {
			case web.EnvAWSAccessKeyID:
				return s3test.KeyID
			case web.EnvAWSSecretAccessKey:
				return s3test.Secret
			}
			return ""
		}
	})
}

// PeopleOptions are the options of NewPeople with the files in this
// store under prefix (for scenarios).
func (f *FakeS3) PeopleOptions(prefix string, args ...string) []Option {
	return []Option{WithArgs(append(append(peopleArgs(), f.Args(prefix)...), args...)...), f.Credentials()}
}

// NewPeople is webtest.NewPeople with its files in this store under prefix.
func (f *FakeS3) NewPeople(t testing.TB, prefix string, args ...string) *Env {
	return New(t, f.PeopleOptions(prefix, args...)...)
}
