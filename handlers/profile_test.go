package handlers_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"roster/web/webtest"
)

// testImage draws a w x h picture with a gradient and returns it encoded.
func testImage(t testing.TB, format string, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 120, 255})
		}
	}
	var buf bytes.Buffer
	var err error
	if format == "png" {
		err = png.Encode(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var storedName = regexp.MustCompile(`^[0-9a-f]{32}\.(jpg|png)$`)

func fetch(e *webtest.Env, path string) *webtest.Response {
	return e.Do(httptest.NewRequest(http.MethodGet, path, nil))
}

func checkThumbnail(t testing.TB, tn string) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(tn)
	if err != nil {
		t.Fatalf("tn is not base64: %v", err)
	}
	img, format, err := image.Decode(bytes.NewReader(raw))
	if err != nil || format != "jpeg" || img.Bounds().Dx() != 100 || img.Bounds().Dy() != 100 {
		t.Fatalf("tn: %v %s %v", err, format, img.Bounds())
	}
}

func TestUploadProfilePhoto(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "a")
	before := e.Count("SELECT profile_at FROM users")
	e.Clock.Advance(3 * time.Second)
	r := e.Multipart(map[string]string{"op": "upload", "token": alice, "profile": "1"}, "photo", "../../evil.php", testImage(t, "png", 300, 200))
	r.ExpectOK(t)
	name := r.String("photo")
	if !storedName.MatchString(name) || !strings.HasSuffix(name, ".png") {
		t.Fatalf("stored name %q", name)
	}
	if r.String("file") != e.Config.BaseURL+"/files/"+name || r.String("profile") != "1" || r.String("phone") != alicePhone {
		t.Errorf("reply %s", r.Body)
	}
	checkThumbnail(t, r.String("tn"))
	if after := e.Count("SELECT profile_at FROM users"); after != before+3000 {
		t.Errorf("profile_at %d -> %d: not bumped", before, after)
	}
	if n := e.Count("SELECT COUNT(*) FROM events WHERE type = 'profile'"); n != 1 {
		t.Errorf("profile events %d", n)
	}
	// Served with its type and long caching; it decodes to the same size.
	f := fetch(e, "/files/"+name)
	if f.Status != 200 || f.Header.Get("Content-Type") != "image/png" || f.Header.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.Contains(f.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("GET file: %d %v", f.Status, f.Header)
	}
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(f.Body)); err != nil || cfg.Width != 300 || cfg.Height != 200 {
		t.Errorf("served image %v %+v", err, cfg)
	}
	// The getcontacts reply of someone who has Alice carries the photo.
	bob := e.SignIn(bobPhone, "b")
	got := e.GetContacts(t, bob, map[string]any{"phones": "+" + alicePhone})
	if len(got.Contacts) != 1 || got.Contacts[0].Photo != name || got.Contacts[0].TN != r.String("tn") {
		t.Errorf("contact photo: %+v", got.Contacts)
	}

	// A new photo replaces the old one, whose file goes away.
	r2 := e.Multipart(map[string]string{"op": "upload", "token": alice, "profile": "1"}, "file", "me.jpg", testImage(t, "jpeg", 640, 480))
	r2.ExpectOK(t)
	if !strings.HasSuffix(r2.String("photo"), ".jpg") {
		t.Errorf("JPEG stored as %q", r2.String("photo"))
	}
	if f := fetch(e, "/files/"+r2.String("photo")); f.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("JPEG served as %q", f.Header.Get("Content-Type"))
	}
	if f := fetch(e, "/files/"+name); f.Status != http.StatusNotFound {
		t.Errorf("replaced photo still served: %d", f.Status)
	}

	// delete=1 removes it.
	d := e.JSON(map[string]any{"op": "upload", "token": alice, "delete": 1})
	d.ExpectOK(t)
	if d.String("photo") != "" || d.String("tn") != "" {
		t.Errorf("after delete: %s", d.Body)
	}
	files, _ := os.ReadDir(filepath.Join(e.DataDir, "files"))
	if len(files) != 0 {
		t.Errorf("files left after delete: %v", files)
	}
}

func TestUploadRejects(t *testing.T) {
	e := webtest.NewPeople(t, "--photo-max-mb", "1", "--photo-max-megapixels", "1")
	alice := e.SignIn(alicePhone, "a")
	params := map[string]string{"op": "upload", "token": alice, "profile": "1"}
	e.Multipart(params, "photo", "photo.png", []byte("this is not an image, whatever its name says")).ExpectFail(t, "BADIMAGE")
	truncated := testImage(t, "png", 50, 50)[:60]
	e.Multipart(params, "photo", "photo.png", truncated).ExpectFail(t, "BADIMAGE")
	noise := make([]byte, 1<<20+10)
	for i := range noise {
		noise[i] = byte(rand.IntN(256))
	}
	e.Multipart(params, "photo", "big.jpg", noise).ExpectFail(t, "TOOLARGE")
	e.Multipart(params, "photo", "wide.png", testImage(t, "png", 1200, 1000)).ExpectFail(t, "TOOLARGE") // 1.2 MP, checked before decoding
	e.Multipart(params, "", "", nil).ExpectFail(t, "MISSINGFILE")
	e.JSON(map[string]any{"op": "upload", "token": alice}).ExpectFail(t, "MISSINGFILE")
	files, _ := os.ReadDir(filepath.Join(e.DataDir, "files"))
	if len(files) != 0 {
		t.Errorf("rejected uploads left files: %v", files)
	}
	if n := e.Count("SELECT COUNT(*) FROM users WHERE photo <> ''"); n != 0 {
		t.Errorf("a rejected upload changed the profile")
	}
	for _, p := range []string{"/files/nothing.png", "/files/..%2Fsecrets%2Fcontacts.key", "/files/0123456789abcdef0123456789abcdef.png"} {
		if f := fetch(e, p); f.Status != http.StatusNotFound {
			t.Errorf("GET %s: %d", p, f.Status)
		}
	}
}

func TestProfileOp(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "a")
	r := e.Multipart(map[string]string{"op": "profile", "token": alice, "name": "  Alice\u00e9 ", "status": "At work"},
		"image", "x.gif", testImage(t, "jpeg", 120, 160))
	r.ExpectOK(t)
	if r.String("name") != "Alice\u00e9" || r.String("status") != "At work" || !storedName.MatchString(r.String("photo")) {
		t.Errorf("profile reply %s", r.Body)
	}
	checkThumbnail(t, r.String("tn"))
	// Only status: the name stays.
	r = e.SetProfile(t, alice, map[string]any{"status": "Home"})
	if r.String("name") != "Alice\u00e9" || r.String("status") != "Home" {
		t.Errorf("partial update: %s", r.Body)
	}
	e.JSON(map[string]any{"op": "profile", "token": alice, "name": strings.Repeat("n", 65)}).ExpectFail(t, "TOOLARGE")
	e.JSON(map[string]any{"op": "profile", "token": alice, "status": strings.Repeat("\u00e9", 257)}).ExpectFail(t, "TOOLARGE")
	e.Form("/api.php", map[string]string{"op": "profile", "token": alice, "name": "bad \xff byte"}).ExpectFail(t, "BADREQUEST")
	e.Multipart(map[string]string{"op": "profile", "token": alice}, "photo", "p.png", []byte("GIF89a nope")).ExpectFail(t, "BADIMAGE")
	if n := e.Count("SELECT COUNT(*) FROM events WHERE type = 'profile'"); n != 2 {
		t.Errorf("profile events %d, want 2 (photo+name+status, then status)", n)
	}
	// Privacy settings do not notify, and an unchanged profile writes nothing.
	e.SetProfile(t, alice, map[string]any{"announce": 0, "status": "Home"})
	if n := e.Count("SELECT COUNT(*) FROM events WHERE type = 'profile'"); n != 2 {
		t.Errorf("profile events %d after a non-visible change", n)
	}
	if n := e.Count("SELECT COUNT(*) FROM users WHERE phone = ? AND announce", "+"+alicePhone); n != 0 {
		t.Errorf("announce not stored")
	}
}

// Uploads are capped per user and day; the files of a deleted user go with
// the account.
func TestUploadCapAndDeletion(t *testing.T) {
	e := webtest.NewPeople(t, "--uploads-per-day", "2")
	alice := e.SignIn(alicePhone, "a")
	img := testImage(t, "png", 64, 64)
	chat := e.Multipart(map[string]string{"op": "upload", "token": alice}, "file", "x.png", img)
	chat.ExpectOK(t)
	e.Clock.Advance(time.Hour)
	e.Multipart(map[string]string{"op": "upload", "token": alice, "profile": "1"}, "photo", "me.png", img).ExpectOK(t)
	r := e.Multipart(map[string]string{"op": "upload", "token": alice}, "file", "y.png", img)
	r.ExpectFail(t, "RATELIMIT")
	if r.String("retry_after") != "82800" { // the first upload leaves the day's window in 23 hours
		t.Errorf("retry_after = %s", r.String("retry_after"))
	}
	if n := e.Count("SELECT COUNT(*) FROM uploads"); n != 2 {
		t.Errorf("%d uploads recorded, want 2 (a refused one is not stored)", n)
	}
	e.Clock.Advance(23 * time.Hour)
	e.Multipart(map[string]string{"op": "upload", "token": alice}, "file", "z.png", img).ExpectOK(t)

	var names []string
	e.Server.DB().Read.Raw("SELECT name FROM uploads").Scan(&names)
	e.DeleteUser("+" + alicePhone)
	for _, name := range names {
		if _, err := os.Stat(filepath.Join(e.DataDir, "files", name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("file %s of the deleted user is still there (%v)", name, err)
		}
	}
}

// Photos sent with the profile op count toward the daily cap, and parallel
// uploads cannot overrun it: the cap is checked and counted in one
// transaction.
func TestUploadCapCountsProfilePhotosAndHoldsInParallel(t *testing.T) {
	e := webtest.NewPeople(t, "--uploads-per-day", "2")
	alice := e.SignIn(alicePhone, "a")
	img := testImage(t, "png", 64, 64)
	for range 2 {
		e.Multipart(map[string]string{"op": "profile", "token": alice}, "photo", "me.png", img).ExpectOK(t)
	}
	e.Multipart(map[string]string{"op": "profile", "token": alice}, "photo", "me.png", img).ExpectFail(t, "RATELIMIT")
	e.Multipart(map[string]string{"op": "upload", "token": alice}, "file", "x.png", img).ExpectFail(t, "RATELIMIT")

	bob := e.SignIn(bobPhone, "b")
	var wg sync.WaitGroup
	var stored atomic.Int32
	for range 10 {
		wg.Go(func() {
			if e.Multipart(map[string]string{"op": "upload", "token": bob}, "file", "x.png", img).String("result") == "OK" {
				stored.Add(1)
			}
		})
	}
	wg.Wait()
	if stored.Load() != 2 {
		t.Errorf("%d of 10 parallel uploads stored under a cap of 2", stored.Load())
	}
	files, _ := os.ReadDir(filepath.Join(e.DataDir, "files"))
	if len(files) != 3 { // alice's current photo, bob's two files
		t.Errorf("%d files on disk, want 3", len(files))
	}
}
