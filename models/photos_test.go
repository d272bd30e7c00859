package models

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"testing"
	"time"
)

// FuzzPhotoStore feeds arbitrary bytes to the image decoder: nothing may
// panic, and what is stored must be a PNG or JPEG with a thumbnail.
func FuzzPhotoStore(f *testing.F) {
	var buf bytes.Buffer
	img := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	img.Set(1, 1, color.NRGBA{200, 10, 10, 128})
	_ = png.Encode(&buf, img)
	f.Add(buf.Bytes())
	f.Add([]byte("GIF89a\x01\x00\x01\x00"))
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBPVP8 "))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		files, err := NewDirFiles(dir)
		if err != nil {
			t.Fatal(err)
		}
		p := NewPhotos(files, PhotoLimits{MaxBytes: 1 << 20, MaxPixels: 1 << 20, MaxSide: 256})
		type result struct {
			ph  *StoredPhoto
			err error
		}
		done := make(chan result, 1)
		go func() {
			ph, err := p.Store(context.Background(), bytes.NewReader(data))
			done <- result{ph, err}
		}()
		var r result
		select {
		case r = <-done:
		case <-time.After(10 * time.Second): // a slow decode is a denial of service
			t.Fatalf("decoding %d bytes took over 10 s", len(data))
		}
		ph, err := r.ph, r.err
		if err != nil {
			return
		}
		if !ValidPhotoName(ph.Name) || ph.Thumbnail == "" {
			t.Fatalf("stored %+v", ph)
		}
		_ = p.Remove(context.Background(), ph.Name)
	})
}

// endedContext has ended, but its Done channel never closes: waits on it
// (the budget, a core) go through, and only what reads Err sees the end.
type endedContext struct{ context.Context }

func (endedContext) Done() <-chan struct{} { return nil }
func (endedContext) Err() error            { return context.DeadlineExceeded }

// A decode runs under its request's deadline: once the context has ended,
// the decoder's next read fails and the upload ends with the context's
// error (the server's BUSY), not with a stored photo nor a bad image.
func TestPhotoDecodeStopsWhenTheContextEnds(t *testing.T) {
	files, err := NewDirFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p := NewPhotos(files, DefaultPhotoLimits())
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 64, 64))); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Store(endedContext{context.Background()}, bytes.NewReader(buf.Bytes())); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Store under an ended context: %v", err)
	}
	if _, err := p.Store(context.Background(), bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatalf("the budget and the core were not given back: %v", err)
	}
}

// FuzzReadJPEGLayout walks arbitrary bytes as JPEG markers: nothing may
// panic, and every scan counted is an SOS marker in the data.
func FuzzReadJPEGLayout(f *testing.F) {
	f.Add([]byte("\xff\xd8\xff\xc2\x00\x0b\x08\x00\x10\x00\x10\x01\x01\x22\x00\xff\xda\x00\x08\x01\x01\x00\x00\x00\x00\x12\xff\x00\xff\xd0\xff\xd9"))
	f.Add([]byte("\xff\xd8\xff\xff\xda\x00\x02\xff\xda\x00\x02"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, _ := readJPEGLayout(data)
		if l.scans > bytes.Count(data, []byte{0xFF, 0xDA}) {
			t.Fatalf("%d scans counted in data with %d SOS markers", l.scans, bytes.Count(data, []byte{0xFF, 0xDA}))
		}
		if l.coefficientBytes() < 0 {
			t.Fatalf("negative coefficient bytes for %+v", l)
		}
	})
}

// endingContext ends after its Err has been asked `left` times.
type endingContext struct {
	context.Context
	left int
}

func (c *endingContext) Done() <-chan struct{} { return nil }
func (c *endingContext) Err() error {
	if c.left <= 0 {
		return context.DeadlineExceeded
	}
	c.left--
	return nil
}

// The decoder is asked about the deadline every few bytes of input, not
// every few kilobytes: the refining scans of a progressive JPEG are a few
// bytes each and take a walk over the whole image each, so a deadline
// looked at per 4 KB read would let a 3 KB file of 64 scans run all of
// them. (testdata/progressive-64-scans.jpg is webtest.ProgressiveJPEG(1000,
// 1000, 64): a grey 1000x1000 image.)
func TestPhotoDecodeLooksAtTheDeadlineOften(t *testing.T) {
	files, err := NewDirFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p := NewPhotos(files, DefaultPhotoLimits())
	jpg, err := os.ReadFile("testdata/progressive-64-scans.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Store(context.Background(), bytes.NewReader(jpg)); err != nil {
		t.Fatalf("the test image does not decode: %v", err)
	}
	ctx := &endingContext{Context: context.Background(), left: 100}
	if _, err := p.Store(ctx, bytes.NewReader(jpg)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a %d-byte JPEG decoded with 100 looks at the deadline: %v", len(jpg), err)
	}
}
