package models

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/gif" // decoder registration
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"

	"golang.org/x/image/draw"
	_ "golang.org/x/image/webp" // decoder registration: phones send WebP
)

// PhotoLimits bounds what an uploaded photo may be.
type PhotoLimits struct {
	MaxBytes  int64 // size of the uploaded file
	MaxPixels int   // width x height, checked before decoding (decompression bombs)
	MaxSide   int   // stored photos are scaled down to fit this
}

// DefaultPhotoLimits: 10 MiB, 40 megapixels, stored at most 2048 pixels a side.
func DefaultPhotoLimits() PhotoLimits {
	return PhotoLimits{MaxBytes: 10 << 20, MaxPixels: 40_000_000, MaxSide: 2048}
}

// Photo errors; their text is safe to show.
var (
	ErrBadImage      = errors.New("the file is not an image in a supported format (JPEG, PNG, GIF or WebP)")
	ErrImageTooLarge = errors.New("the image is too large")
)

// ThumbSize is the side of the protocol's `tn` thumbnail.
const ThumbSize = 100

// Photos stores uploaded images under random names in a directory.
type Photos struct {
	dir    string
	limits PhotoLimits
	// decoding bounds concurrent decodes: each may take a few hundred MB
	// (40 MP at 4 bytes a pixel) and a core for a while.
	decoding chan struct{}
}

// NewPhotos returns the photo store in dir (created if needed).
func NewPhotos(dir string, limits PhotoLimits) (*Photos, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create files directory: %w", err)
	}
	return &Photos{dir: dir, limits: limits, decoding: make(chan struct{}, runtime.GOMAXPROCS(0))}, nil
}

// Limits returns the limits.
func (p *Photos) Limits() PhotoLimits { return p.limits }

// StoredPhoto is a photo written to the store.
type StoredPhoto struct {
	Name      string // file name under the download URL
	Thumbnail string // base64 100x100 JPEG
}

var photoName = regexp.MustCompile(`^[0-9a-f]{32}\.(jpg|png)$`)

// ValidPhotoName reports whether name is one the store could have made.
func ValidPhotoName(name string) bool { return photoName.MatchString(name) }

// Store decodes an uploaded image, re-encodes it (JPEG stays JPEG, the rest
// becomes PNG) so that nothing but pixels is kept, and writes it under a new
// random name with its thumbnail. The client's file name is never used.
func (p *Photos) Store(r io.Reader) (*StoredPhoto, error) {
	data, err := io.ReadAll(io.LimitReader(r, p.limits.MaxBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > p.limits.MaxBytes {
		return nil, ErrImageTooLarge
	}
	p.decoding <- struct{}{}
	defer func() { <-p.decoding }()
	img, format, err := p.decode(data)
	if err != nil {
		return nil, err
	}
	img = fit(img, p.limits.MaxSide)
	var out bytes.Buffer
	ext := "png"
	if format == "jpeg" {
		ext = "jpg"
		err = jpeg.Encode(&out, img, &jpeg.Options{Quality: 85})
	} else {
		err = png.Encode(&out, img)
	}
	if err != nil {
		return nil, err
	}
	tn, err := thumbnail(img)
	if err != nil {
		return nil, err
	}
	var rnd [16]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	name := hex.EncodeToString(rnd[:]) + "." + ext
	if err := writeFileAtomic(filepath.Join(p.dir, name), out.Bytes()); err != nil {
		return nil, err
	}
	return &StoredPhoto{Name: name, Thumbnail: tn}, nil
}

// decode checks the declared size before decoding: a small file can declare
// a huge image, and decoding allocates for the declared size.
func (p *Photos) decode(data []byte) (img image.Image, format string, err error) {
	defer func() {
		if r := recover(); r != nil { // a decoder bug must not take the server down
			img, format, err = nil, "", ErrBadImage
		}
	}()
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, "", ErrBadImage
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, "", ErrBadImage
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(p.limits.MaxPixels) {
		return nil, "", ErrImageTooLarge
	}
	img, format, err = image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, "", ErrBadImage
	}
	return img, format, nil
}

// fit scales img down to at most side pixels on its longer side.
func fit(img image.Image, side int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if side <= 0 || (w <= side && h <= side) {
		return img
	}
	if w >= h {
		h, w = max(1, h*side/w), side
	} else {
		w, h = max(1, w*side/h), side
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	return dst
}

// thumbnail crops the centre square, scales it to ThumbSize, flattens
// transparency onto white and returns it as base64 JPEG.
func thumbnail(img image.Image) (string, error) {
	b := img.Bounds()
	side := min(b.Dx(), b.Dy())
	x0 := b.Min.X + (b.Dx()-side)/2
	y0 := b.Min.Y + (b.Dy()-side)/2
	src := image.Rect(x0, y0, x0+side, y0+side)
	dst := image.NewRGBA(image.Rect(0, 0, ThumbSize, ThumbSize))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, src, draw.Over, nil)
	var out bytes.Buffer
	if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: 80}); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(out.Bytes()), nil
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".upload-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o640); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Remove deletes a stored photo; unknown names are ignored.
func (p *Photos) Remove(name string) error {
	if !ValidPhotoName(name) {
		return nil
	}
	err := os.Remove(filepath.Join(p.dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Open opens a stored photo and returns its content type.
func (p *Photos) Open(name string) (*os.File, string, error) {
	if !ValidPhotoName(name) {
		return nil, "", os.ErrNotExist
	}
	f, err := os.Open(filepath.Join(p.dir, name))
	if err != nil {
		return nil, "", err
	}
	ct := "image/png"
	if filepath.Ext(name) == ".jpg" {
		ct = "image/jpeg"
	}
	return f, ct, nil
}
