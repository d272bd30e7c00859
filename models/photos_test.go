package models

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
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
