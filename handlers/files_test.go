package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"roster/models/s3test"
	"roster/web/webtest"
)

// fileBackend is a place Roster stores files in, with a look at what it
// holds from outside Roster.
type fileBackend struct {
	name  string
	start func(t *testing.T, args ...string) *webtest.Env
	held  func(e *webtest.Env) []string // stored names, sorted
}

func fileBackends(t *testing.T) []fileBackend {
	s3 := webtest.NewFakeS3(t)
	var prefixes atomic.Int32
	return []fileBackend{
		{name: "data directory",
			start: func(t *testing.T, args ...string) *webtest.Env { return webtest.NewPeople(t, args...) },
			held: func(e *webtest.Env) []string {
				entries, _ := os.ReadDir(filepath.Join(e.DataDir, "files"))
				var names []string
				for _, f := range entries {
					names = append(names, f.Name())
				}
				return names
			}},
		{name: "s3",
			start: func(t *testing.T, args ...string) *webtest.Env {
				// One store for the test, a prefix of its own for each server.
				return s3.NewPeople(t, "roster-"+string(rune('a'+prefixes.Add(1))), args...)
			},
			held: func(e *webtest.Env) []string {
				prefix := strings.TrimPrefix(e.Config.Files.URL, "s3://"+s3.Bucket+"/") + "/"
				var names []string
				for _, k := range s3.Keys() {
					if name, ok := strings.CutPrefix(k, prefix); ok {
						names = append(names, name)
					}
				}
				return names
			}},
	}
}

// checkServed fetches /files/NAME and checks the file comes back with
// the headers it always had.
func checkServed(t *testing.T, e *webtest.Env, name, contentType string) {
	t.Helper()
	f := fetch(e, "/files/"+name)
	h := f.Header
	if f.Status != http.StatusOK || h.Get("Content-Type") != contentType || h.Get("X-Content-Type-Options") != "nosniff" ||
		h.Get("Cache-Control") != "public, max-age=31536000, immutable" || h.Get("Content-Security-Policy") != "default-src 'none'; sandbox" ||
		h.Get("Access-Control-Allow-Origin") != "*" || len(f.Body) == 0 {
		t.Errorf("GET /files/%s: %d %v", name, f.Status, h)
	}
}

// The same journey in both stores: a profile photo and a chat file are
// stored and served through /files/, a replaced photo goes away, the cap
// holds in parallel, and deleting the account deletes its files.
func TestFilesInBothStores(t *testing.T) {
	for _, b := range fileBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := b.start(t, "--uploads-per-day", "4")
			alice := e.SignIn(alicePhone, "a")
			photo := e.Multipart(map[string]string{"op": "upload", "token": alice, "profile": "1"}, "photo", "me.png", testImage(t, "png", 80, 60))
			photo.ExpectOK(t)
			chat := e.Multipart(map[string]string{"op": "upload", "token": alice}, "file", "cat.jpg", testImage(t, "jpeg", 64, 64))
			chat.ExpectOK(t)
			chatName := strings.TrimPrefix(chat.String("file"), e.Config.BaseURL+"/files/")
			checkServed(t, e, photo.String("photo"), "image/png")
			checkServed(t, e, chatName, "image/jpeg")
			if got, want := b.held(e), sorted(photo.String("photo"), chatName); !slices.Equal(got, want) {
				t.Errorf("stored %v, want %v", got, want)
			}
			for _, p := range []string{"/files/0123456789abcdef0123456789abcdef.png", "/files/..%2Froster.db", "/files/x"} {
				if f := fetch(e, p); f.Status != http.StatusNotFound {
					t.Errorf("GET %s: %d", p, f.Status)
				}
			}

			// A new photo replaces the old one, whose file goes.
			again := e.Multipart(map[string]string{"op": "upload", "token": alice, "profile": "1"}, "photo", "me.jpg", testImage(t, "jpeg", 40, 40))
			again.ExpectOK(t)
			if f := fetch(e, "/files/"+photo.String("photo")); f.Status != http.StatusNotFound {
				t.Errorf("replaced photo still served: %d", f.Status)
			}
			if got, want := b.held(e), sorted(again.String("photo"), chatName); !slices.Equal(got, want) {
				t.Errorf("after the new photo: stored %v, want %v", got, want)
			}

			// The cap (4 a day, 3 used) holds with parallel uploads: one more
			// is stored, in the database and in the store, and no other.
			var wg sync.WaitGroup
			var ok atomic.Int32
			for range 5 {
				wg.Go(func() {
					r := e.Multipart(map[string]string{"op": "upload", "token": alice}, "file", "x.png", testImage(t, "png", 16, 16))
					if r.String("result") == "OK" {
						ok.Add(1)
					} else if r.String("error") != "RATELIMIT" {
						t.Errorf("over the cap: %s", r.Body)
					}
				})
			}
			wg.Wait()
			if ok.Load() != 1 || len(b.held(e)) != 3 {
				t.Errorf("%d of 5 parallel uploads stored with one left under the cap; the store holds %v", ok.Load(), b.held(e))
			}

			// Deleting the account deletes its files.
			e.DeleteUser("+" + alicePhone)
			if held := b.held(e); len(held) != 0 {
				t.Errorf("files of the deleted user left: %v", held)
			}
		})
	}
}

func sorted(names ...string) []string {
	slices.Sort(names)
	return names
}

// With --files-redirect, /files/NAME answers with a redirect to a
// presigned URL of the bucket, which serves the file; names Roster could
// not have made are still 404 here, and neither the URL's signature nor the
// credentials reach the log.
func TestFilesRedirect(t *testing.T) {
	s3 := webtest.NewFakeS3(t)
	upload := func(t testing.TB, e *webtest.Env) string {
		alice := e.SignIn(alicePhone, "a")
		r := e.Multipart(map[string]string{"op": "upload", "token": alice, "profile": "1"}, "photo", "me.png", testImage(t, "png", 30, 20))
		r.ExpectOK(t)
		return r.String("photo")
	}
	var name string
	webtest.Run(t, []webtest.Scenario{
		{
			Name:    "a stored photo redirects to the bucket",
			Options: s3.PeopleOptions("redirect", "--files-redirect", "--files-redirect-ttl", "10m"),
			Before:  func(t testing.TB, e *webtest.Env) { name = upload(t, e) },
			Request: func(t testing.TB, e *webtest.Env) *http.Request {
				return httptest.NewRequest(http.MethodGet, "/files/"+name, nil)
			},
			ExpectedStatus: http.StatusFound,
			After: func(t testing.TB, e *webtest.Env, r *webtest.Response) {
				loc := r.Header.Get("Location")
				u, err := url.Parse(loc)
				if err != nil || !strings.HasPrefix(loc, s3.URL+"/"+s3.Bucket+"/redirect/"+name+"?") ||
					u.Query().Get("X-Amz-Signature") == "" || u.Query().Get("X-Amz-Expires") != "600" {
					t.Fatalf("Location %q", loc)
				}
				if cc := r.Header.Get("Cache-Control"); cc != "private, max-age=120" {
					t.Errorf("Cache-Control %q", cc)
				}
				res, body := s3test.Get(t, loc)
				if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/png" || len(body) == 0 {
					t.Errorf("the presigned URL: %d %v", res.StatusCode, res.Header)
				}
				logs := e.Logs()
				for _, secret := range []string{u.Query().Get("X-Amz-Signature"), s3test.Secret, "X-Amz-Credential"} {
					if strings.Contains(logs, secret) {
						t.Errorf("the log holds %q", secret)
					}
				}
			},
		},
		{
			Name:           "a name Roster could not have made is not found",
			Options:        s3.PeopleOptions("redirect-bad", "--files-redirect"),
			URL:            "/files/..%2F..%2Fetc%2Fpasswd",
			ExpectedStatus: http.StatusNotFound,
		},
		{
			Name:    "without the switch, the file itself is served",
			Options: s3.PeopleOptions("served"),
			Before:  func(t testing.TB, e *webtest.Env) { name = upload(t, e) },
			Request: func(t testing.TB, e *webtest.Env) *http.Request {
				return httptest.NewRequest(http.MethodGet, "/files/"+name, nil)
			},
			ExpectedStatus: http.StatusOK,
			After: func(t testing.TB, e *webtest.Env, r *webtest.Response) {
				if r.Header.Get("Location") != "" || r.Header.Get("Content-Type") != "image/png" {
					t.Errorf("served %v", r.Header)
				}
			},
		},
	})
}

// The dashboard's settings list the store's settings in the Files group,
// and its credentials only as set.
func TestFilesSettings(t *testing.T) {
	s3 := webtest.NewFakeS3(t)
	e := webtest.New(t, s3.PeopleOptions("settings", "--files-redirect")...)
	r := e.AdminLogin("alice", "owner").Get("/admin/settings")
	files := r.TestID(t, "settings-files")
	for _, name := range []string{"files-url", "s3-endpoint", "s3-region", "s3-path-style", "files-redirect", "files-redirect-ttl"} {
		if files.Find(webtest.TestIDSelector("setting-"+name)).Length() != 1 {
			t.Errorf("%s is not in the Files group", name)
		}
	}
	expectIn(t, r, "s3://"+s3.Bucket+"/settings", "15 min")
	secret := strings.TrimSpace(r.TestID(t, "setting-AWS_SECRET_ACCESS_KEY").Find(webtest.TestIDSelector("setting-value")).Text())
	if secret != "set" || strings.Contains(body(r), s3test.Secret) || strings.Contains(body(r), s3test.KeyID) {
		t.Errorf("AWS_SECRET_ACCESS_KEY shows as %q (or a credential is on the page)", secret)
	}
}
