package handlers_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"roster/models"
	"roster/web/webtest"
)

// A 40-megapixel 16-bit PNG (320 MB decoded from a 310 KB file) is over
// the default pixel limit: refused before anything is decoded.
func TestPhotoBombOverPixelLimit(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "a")
	bomb := webtest.PNGBomb(6320, 6320)
	e.Multipart(map[string]string{"op": "upload", "token": alice, "profile": "1"}, "photo", "bomb.png", bomb).ExpectFail(t, "TOOLARGE")
}

// Decodes in flight share one memory budget (256 MiB by default), however
// many cores there are: eight parallel 9-megapixel 16-bit PNGs (72 MB
// decoded each) never hold more than the budget at once.
func TestPhotoDecodesShareAMemoryBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes eight large images")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(8))   // a bigger machine: more decodes would run at once
	defer debug.SetGCPercent(debug.SetGCPercent(200)) // the server's setting (main.go): garbage may be twice what is live
	// Uploads queue for the budget under the request deadline; webtest's
	// deadline is long enough for a busy machine (with a short one the last
	// uploads get BUSY, which is right, but not what this test is about).
	e := webtest.NewPeople(t)
	const users = 8
	tokens := make([]string, users)
	for i := range tokens {
		tokens[i] = e.SignIn(fmt.Sprintf("120155503%02d", i), "d")
	}
	bomb := webtest.PNGBomb(3000, 3000)
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	var peak atomic.Uint64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	})
	var wg sync.WaitGroup
	var ok atomic.Int32
	for _, tok := range tokens {
		wg.Go(func() {
			r := e.Multipart(map[string]string{"op": "upload", "token": tok}, "file", "b.png", bomb)
			if r.String("result") == "OK" {
				ok.Add(1)
			} else {
				t.Logf("upload refused: %s %s", r.String("error"), r.String("errmsg"))
			}
		})
	}
	wg.Wait()
	close(stop)
	sampler.Wait()
	grew := (peak.Load() - min(base, peak.Load())) >> 20
	t.Logf("%d parallel 3000x3000 16-bit PNGs: %d stored, heap grew by at most %d MiB", users, ok.Load(), grew)
	if ok.Load() != users {
		t.Errorf("%d of %d uploads stored", ok.Load(), users)
	}
	// Store collects a large decode's garbage before giving its weight
	// back, so the heap holds the budget plus the small allocations of the
	// requests around it (without that collection, at GOGC 200, it grew by
	// 620-690 MiB here; with it 274-281 MiB).
	if grew > 256+64 {
		t.Errorf("the heap grew by %d MiB during the decodes: over the 256 MiB budget", grew)
	}
}

// A JPEG's decode costs a walk over its blocks per scan: a file of more
// scans than any encoder writes is refused before it is decoded, however
// small it is; one at the limit is stored.
func TestJPEGScanBombRefusedBeforeDecoding(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "a")
	at := webtest.ProgressiveJPEG(64, 64, models.MaxJPEGScans)
	e.Multipart(map[string]string{"op": "upload", "token": alice}, "file", "ok.jpg", at).ExpectOK(t)
	bomb := webtest.ProgressiveJPEG(64, 64, models.MaxJPEGScans+1)
	r := e.Multipart(map[string]string{"op": "upload", "token": alice}, "file", "bomb.jpg", bomb)
	r.ExpectFail(t, "BADIMAGE")
	if !strings.Contains(r.String("errmsg"), "scans") {
		t.Errorf("errmsg %q does not say why", r.String("errmsg"))
	}
}

// An upload counts toward the daily cap before its file is decoded: files
// that fail to decode are no free way to make the server work.
func TestFailedUploadsCountTowardTheCap(t *testing.T) {
	e := webtest.NewPeople(t, "--uploads-per-day", "2")
	alice := e.SignIn(alicePhone, "a")
	e.Multipart(map[string]string{"op": "upload", "token": alice}, "file", "x.jpg", []byte("\xff\xd8 not a JPEG")).ExpectFail(t, "BADIMAGE")
	e.Multipart(map[string]string{"op": "upload", "token": alice, "profile": "1"}, "photo", "x.png", []byte("not an image")).ExpectFail(t, "BADIMAGE")
	e.Multipart(map[string]string{"op": "upload", "token": alice}, "file", "ok.png", testImage(t, "png", 32, 32)).ExpectFail(t, "RATELIMIT")
	files, _ := os.ReadDir(filepath.Join(e.DataDir, "files"))
	if len(files) != 0 {
		t.Errorf("%d files stored by refused uploads", len(files))
	}
}

// The decoder keeps a progressive JPEG's coefficients (4 bytes for each
// pixel of each component) between scans: they are charged to the decode
// budget with the pixels. A 2000x2000 grey progressive JPEG takes 4 MB of
// pixels, 16 MB for the scaled copy and 16 MB of coefficients: over a
// 32 MiB budget, refused instead of overrunning it.
func TestProgressiveJPEGChargesItsCoefficients(t *testing.T) {
	e := webtest.NewPeople(t, "--photo-decode-budget-mb", "32")
	alice := e.SignIn(alicePhone, "a")
	progressive := webtest.ProgressiveJPEG(2000, 2000, 2)
	e.Multipart(map[string]string{"op": "upload", "token": alice}, "file", "p.jpg", progressive).ExpectFail(t, "TOOLARGE")
	e.Multipart(map[string]string{"op": "upload", "token": alice}, "file", "p.jpg", webtest.ProgressiveJPEG(1000, 1000, 2)).ExpectOK(t)
}
