// Package s3test runs an S3-compatible object store (gofakes3 over memory)
// on a real loopback HTTP server for tests of the S3 file store.
package s3test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"roster/models"
)

// Credentials the store's clients are given (the fake checks none).
const (
	KeyID  = "AKIAFAKEROSTERTEST"
	Secret = "fake-secret-access-key-for-roster-tests"
)

// Server is one store with one bucket.
type Server struct {
	URL    string // http://127.0.0.1:PORT
	Bucket string
	t      testing.TB
	mem    *s3mem.Backend

	mu   sync.Mutex
	puts map[string]http.Header // the headers of each object's upload, by path
}

// Start starts a store until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	mem := s3mem.New()
	const bucket = "roster-files"
	if err := mem.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	s := &Server{Bucket: bucket, t: t, mem: mem, puts: map[string]http.Header{}}
	srv := httptest.NewServer(s.recordPuts(gofakes3.New(mem).Server()))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// recordPuts keeps the headers of uploads: gofakes3 stores only some of
// them (not Cache-Control).
func (s *Server) recordPuts(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			s.mu.Lock()
			s.puts[r.URL.Path] = r.Header.Clone()
			s.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

// PutHeader is a header of the upload of key, in the path-style bucket
// ("" if it was not uploaded).
func (s *Server) PutHeader(key, header string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.puts["/"+s.Bucket+"/"+key].Get(header)
}

// Config is the configuration of the bucket under prefix, with credentials.
func (s *Server) Config(prefix string) models.S3Config {
	u, _ := url.Parse(s.URL)
	return models.S3Config{Bucket: s.Bucket, Prefix: prefix, Endpoint: u.Host, Insecure: true,
		Region: "us-east-1", PathStyle: true, AccessKeyID: KeyID, SecretAccessKey: Secret}
}

// Keys lists the stored objects' keys, sorted.
func (s *Server) Keys() []string {
	s.t.Helper()
	list, err := s.mem.ListBucket(s.Bucket, &gofakes3.Prefix{}, gofakes3.ListBucketPage{})
	if err != nil {
		s.t.Fatal(err)
	}
	var keys []string
	for _, c := range list.Contents {
		keys = append(keys, c.Key)
	}
	sort.Strings(keys)
	return keys
}

// Get downloads a URL of the store (a presigned one) and returns the
// answer with its body read.
func Get(t testing.TB, link string) (*http.Response, []byte) {
	t.Helper()
	res, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}
