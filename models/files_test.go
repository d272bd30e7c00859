package models_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"roster/models"
	"roster/models/s3test"
)

// fileStoreCase is one store under test, with a look at what it holds
// from outside the store.
type fileStoreCase struct {
	name   string
	open   func(t *testing.T) (models.FileStore, func() []string) // the store, and the names it holds
	linked bool                                                   // it makes presigned URLs
}

func fileStoreCases() []fileStoreCase {
	return []fileStoreCase{
		{name: "directory", open: func(t *testing.T) (models.FileStore, func() []string) {
			dir := filepath.Join(t.TempDir(), "files")
			st, err := models.NewDirFiles(dir)
			if err != nil {
				t.Fatal(err)
			}
			return st, func() []string {
				entries, _ := os.ReadDir(dir)
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				return names
			}
		}},
		{name: "s3", linked: true, open: func(t *testing.T) (models.FileStore, func() []string) {
			srv := s3test.Start(t)
			st, err := models.NewS3Files(srv.Config("tenant/photos"))
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Check(t.Context()); err != nil {
				t.Fatal(err)
			}
			return st, srv.Keys
		}},
	}
}

// The same behaviour from both stores: what is put can be opened with its
// content type and size, deleted once and twice, and names with a path in
// them reach nothing.
func TestFileStores(t *testing.T) {
	const name = "0123456789abcdef0123456789abcdef.png"
	data := []byte("\x89PNG not really, but bytes")
	for _, tc := range fileStoreCases() {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			st, held := tc.open(t)
			if err := st.Put(ctx, name, data, "image/png"); err != nil {
				t.Fatalf("put: %v", err)
			}
			f, err := st.Open(ctx, name)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			got, _ := io.ReadAll(f.Body)
			f.Body.Close()
			if string(got) != string(data) || f.ContentType != "image/png" || f.Size != int64(len(data)) {
				t.Errorf("opened %q as %s, %d bytes", got, f.ContentType, f.Size)
			}
			if names := held(); len(names) != 1 || !strings.HasSuffix(names[0], name) {
				t.Errorf("the store holds %v", names)
			}
			if ok, err := st.Exists(ctx, name); !ok || err != nil {
				t.Errorf("exists: %v, %v", ok, err)
			}
			if ok, err := st.Exists(ctx, "fedcba9876543210fedcba9876543210.jpg"); ok || err != nil {
				t.Errorf("exists of an unknown name: %v, %v", ok, err)
			}

			for _, bad := range []string{"../" + name, "a/" + name, ".hidden", ""} {
				if err := st.Put(ctx, bad, data, "image/png"); err == nil {
					t.Errorf("put %q accepted", bad)
				}
				if _, err := st.Open(ctx, bad); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("open %q: %v, want not found", bad, err)
				}
				if err := st.Delete(ctx, bad); err != nil {
					t.Errorf("delete %q: %v", bad, err)
				}
			}
			if _, err := st.Open(ctx, "fedcba9876543210fedcba9876543210.jpg"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("open of an unknown name: %v", err)
			}

			if err := st.Delete(ctx, name); err != nil {
				t.Fatalf("delete: %v", err)
			}
			if _, err := st.Open(ctx, name); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("open after delete: %v", err)
			}
			if err := st.Delete(ctx, name); err != nil {
				t.Errorf("second delete: %v", err)
			}
			if names := held(); len(names) != 0 {
				t.Errorf("left after delete: %v", names)
			}
			if _, ok := st.(models.FileLinker); ok != tc.linked {
				t.Errorf("makes links: %v, want %v", ok, tc.linked)
			}
		})
	}
}

// The data directory keeps the layout deployments have: DATA-DIR/files/NAME,
// owner-only, no temporary file left beside it.
func TestDirFilesLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "files")
	st, err := models.NewDirFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	const name = "0123456789abcdef0123456789abcdef.jpg"
	if err := st.Put(t.Context(), name, []byte("jpeg"), "image/jpeg"); err != nil {
		t.Fatal(err)
	}
	for path, mode := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, filepath.Join(dir, name): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode() != mode {
			t.Errorf("%s: %v %v, want %v", path, err, fi.Mode(), mode)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %v", entries)
	}
}

// A presigned URL downloads the object from the store itself, with its
// content type and caching, and expires as asked.
func TestS3FilesSignedURL(t *testing.T) {
	srv := s3test.Start(t)
	st, err := models.NewS3Files(srv.Config(""))
	if err != nil {
		t.Fatal(err)
	}
	const name = "0123456789abcdef0123456789abcdef.jpg"
	if err := st.Put(t.Context(), name, []byte("jpeg bytes"), "image/jpeg"); err != nil {
		t.Fatal(err)
	}
	if got := srv.PutHeader(name, "Cache-Control"); !strings.Contains(got, "immutable") {
		t.Errorf("stored Cache-Control %q", got)
	}
	link, err := st.SignedURL(t.Context(), name, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(link)
	q := u.Query()
	if !strings.HasPrefix(link, srv.URL+"/"+srv.Bucket+"/"+name+"?") || q.Get("X-Amz-Signature") == "" || q.Get("X-Amz-Expires") != "600" {
		t.Fatalf("presigned URL %s", link)
	}
	res, body := s3test.Get(t, link)
	if res.StatusCode != 200 || string(body) != "jpeg bytes" || res.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("download: %d %q %v", res.StatusCode, body, res.Header)
	}
}

// The start's check names what is wrong: a bucket that does not exist,
// access refused, an endpoint that does not answer (quickly, not after ten
// retries).
func TestS3FilesCheck(t *testing.T) {
	srv := s3test.Start(t)
	cfg := srv.Config("")
	cfg.Bucket = "no-such-bucket"
	st, err := models.NewS3Files(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Check(t.Context()); err == nil || !strings.Contains(err.Error(), `"no-such-bucket" does not exist`) {
		t.Errorf("missing bucket: %v", err)
	}

	denying := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusForbidden) }))
	defer denying.Close()
	cfg = srv.Config("")
	cfg.Endpoint = strings.TrimPrefix(denying.URL, "http://")
	if st, err = models.NewS3Files(cfg); err != nil {
		t.Fatal(err)
	}
	if err := st.Check(t.Context()); err == nil || !strings.Contains(err.Error(), `refused access to the bucket "roster-files"`) {
		t.Errorf("wrong credentials: %v", err)
	}

	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	cfg = srv.Config("")
	cfg.Endpoint = strings.TrimPrefix(closed.URL, "http://")
	st, err = models.NewS3Files(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	began := time.Now()
	err = st.Check(ctx)
	if err == nil || !strings.Contains(err.Error(), "cannot be reached") || strings.Contains(err.Error(), s3test.Secret) {
		t.Errorf("unreachable endpoint: %v", err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("the check took %s", took)
	}
}
