package models

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"image"
	"image/color"
	_ "image/gif" // decoder registration
	"image/jpeg"
	"image/png"
	"io"
	"regexp"
	"runtime"
	"time"

	"golang.org/x/image/draw"
	_ "golang.org/x/image/webp" // decoder registration: phones send WebP
	"golang.org/x/sync/semaphore"
)

// PhotoLimits bounds what an uploaded photo may be.
type PhotoLimits struct {
	MaxBytes  int64 // size of the uploaded file
	MaxPixels int   // width x height, checked before decoding (decompression bombs)
	MaxSide   int   // stored photos are scaled down to fit this
	// DecodeBudget is the memory all decodes in flight may take together,
	// in bytes (declared width x height x bytes per pixel, plus the scaled
	// copy): a 310 KB 16-bit PNG decodes to 320 MB, so counting decodes
	// is not enough.
	DecodeBudget int64
}

// DefaultPhotoLimits: 10 MiB, 24 megapixels (a 24 MP camera's full
// resolution; 48 MP phones save 12 MP unless told otherwise), stored at most
// 2048 pixels a side, 256 MiB for all decodes at once.
func DefaultPhotoLimits() PhotoLimits {
	return PhotoLimits{MaxBytes: 10 << 20, MaxPixels: 24_000_000, MaxSide: 2048, DecodeBudget: 256 << 20}
}

// Photo errors; their text is safe to show.
var (
	ErrBadImage      = errors.New("the file is not an image in a supported format (JPEG, PNG, GIF or WebP)")
	ErrImageTooLarge = errors.New("the image is too large")
	ErrTooManyScans  = errors.New("the JPEG is encoded in too many scans")
)

// ThumbSize is the side of the protocol's `tn` thumbnail.
const ThumbSize = 100

// Photos stores uploaded images under random names in a file store.
type Photos struct {
	files  FileStore
	limits PhotoLimits
	// memory holds the decoded bytes of the decodes in flight (weights
	// from decodeCost); cores bounds how many run at once, each taking a
	// core for a while.
	memory *semaphore.Weighted
	cores  chan struct{}
}

// NewPhotos returns the photo service over a file store.
func NewPhotos(files FileStore, limits PhotoLimits) *Photos {
	if limits.DecodeBudget <= 0 {
		limits.DecodeBudget = DefaultPhotoLimits().DecodeBudget
	}
	return &Photos{files: files, limits: limits, memory: semaphore.NewWeighted(limits.DecodeBudget),
		cores: make(chan struct{}, runtime.GOMAXPROCS(0))}
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
//
// Before decoding, the image's declared size is read and its decoded bytes
// are taken from the memory budget, waiting (until ctx ends) while other
// decodes hold it; a JPEG's scans are counted and, for a progressive one,
// the coefficients the decoder keeps between scans are charged too. The
// decode itself stops when ctx ends (at its next read of the file), giving
// back its core and its share of the budget.
func (p *Photos) Store(ctx context.Context, r io.Reader) (*StoredPhoto, error) {
	data, err := io.ReadAll(io.LimitReader(r, p.limits.MaxBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > p.limits.MaxBytes {
		return nil, ErrImageTooLarge
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, ErrBadImage
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(p.limits.MaxPixels) {
		return nil, ErrImageTooLarge
	}
	cost := decodeCost(cfg, p.limits.MaxSide)
	if layout, isJPEG := readJPEGLayout(data); isJPEG {
		if layout.scans > MaxJPEGScans {
			return nil, ErrTooManyScans
		}
		cost += layout.coefficientBytes()
	}
	if cost > p.limits.DecodeBudget {
		return nil, ErrImageTooLarge // it would wait forever
	}
	if err := p.memory.Acquire(ctx, cost); err != nil {
		return nil, err
	}
	defer p.memory.Release(cost)
	select {
	case p.cores <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-p.cores }()
	encoded, ext, tn, err := p.reencode(ctx, data)
	if cost >= collectAfter {
		// The decoded pixels are garbage now, but the collector would let
		// the heap grow to 1+GOGC/100 times what was live before reclaiming
		// them: six parallel 184 MB decodes reached 776 MiB of RSS under a
		// 256 MiB budget. Collecting before the weight is given back makes
		// the budget bound memory, not only what is live; a collection of
		// this small heap costs a few milliseconds, once per large photo.
		runtime.GC()
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err() // the deadline cut the decode short: the image may be fine
		}
		return nil, err
	}
	var rnd [16]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	name := hex.EncodeToString(rnd[:]) + "." + ext
	if err := p.files.Put(ctx, name, encoded, contentTypeByName(name)); err != nil {
		return nil, err
	}
	return &StoredPhoto{Name: name, Thumbnail: tn}, nil
}

// collectAfter is the decode cost from which Store runs the collector
// before giving the cost back to the budget (see Store).
const collectAfter = 32 << 20

// reencode decodes data, scales it to MaxSide and encodes it again (JPEG
// stays JPEG, the rest becomes PNG), with its thumbnail. Only the encoded
// bytes leave it: the decoded image is unreachable once it returns.
func (p *Photos) reencode(ctx context.Context, data []byte) (encoded []byte, ext, thumb string, err error) {
	img, format, err := p.decode(ctx, data)
	if err != nil {
		return nil, "", "", err
	}
	if err := ctx.Err(); err != nil { // the decode's last step reads nothing: scaling would be for nobody
		return nil, "", "", err
	}
	img = fit(img, p.limits.MaxSide)
	var out bytes.Buffer
	ext = "png"
	if format == "jpeg" {
		ext = "jpg"
		err = jpeg.Encode(&out, img, &jpeg.Options{Quality: 85})
	} else {
		err = png.Encode(&out, img)
	}
	if err != nil {
		return nil, "", "", err
	}
	thumb, err = thumbnail(img)
	if err != nil {
		return nil, "", "", err
	}
	return out.Bytes(), ext, thumb, nil
}

// decodeCost is the memory a decode of the declared image takes: its
// pixels at the decoder's bytes per pixel, plus the scaled copy fit makes.
func decodeCost(cfg image.Config, maxSide int) int64 {
	pixels := int64(cfg.Width) * int64(cfg.Height)
	side := int64(min(maxSide, max(cfg.Width, cfg.Height)))
	return pixels*bytesPerPixel(cfg.ColorModel) + side*side*4
}

// bytesPerPixel is what the standard decoders allocate per pixel for a
// colour model; unknown models count as the largest (16-bit RGBA).
func bytesPerPixel(m color.Model) int64 {
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.YCbCrModel:
		return 3 // 4:4:4 at most
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel, color.NYCbCrAModel:
		return 4
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 8
}

// decode decodes an image whose declared size Store has checked, until ctx
// ends.
func (p *Photos) decode(ctx context.Context, data []byte) (img image.Image, format string, err error) {
	defer func() {
		if r := recover(); r != nil { // a decoder bug must not take the server down
			img, format, err = nil, "", ErrBadImage
		}
	}()
	// Other formats' work per byte read is bounded (by zlib's ratio, for
	// PNG); a JPEG's is not.
	chunk := 4096
	if bytes.HasPrefix(data, []byte{0xFF, 0xD8}) {
		chunk = jpegReadSize
	}
	img, format, err = image.Decode(&contextReader{ctx: ctx, data: data, chunk: chunk})
	if err != nil {
		return nil, "", ErrBadImage
	}
	return img, format, nil
}

// contextReader reads data to a decoder at most chunk bytes at a time and
// fails once ctx has ended, so that a decode whose request's deadline
// passed stops within a chunk's worth of work instead of running to the
// end for nobody. It has Peek, so image.Decode reads it as it is instead
// of through a 4 KB buffer.
type contextReader struct {
	ctx   context.Context
	data  []byte
	chunk int
}

// jpegReadSize is a JPEG decoder's chunk: small, because a JPEG's work and
// its size are not proportional (the 63 refining scans of a 23 MP
// progressive JPEG can fit in 1 KB and take seconds). Other decoders read
// 4 KB at a time: 16-byte reads made PNG decodes a third slower.
const jpegReadSize = 16

func (c *contextReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(b[:min(len(b), c.chunk)], c.data)
	c.data = c.data[n:]
	return n, nil
}

// Peek returns the next n bytes without consuming them (image.Decode reads
// the format's magic number with it).
func (c *contextReader) Peek(n int) ([]byte, error) {
	if n > len(c.data) {
		return c.data, io.EOF
	}
	return c.data[:n], nil
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

// Remove deletes a stored photo; unknown names are ignored. It finishes
// even when ctx has ended: the photo is no longer referenced, and a
// removal cut short would leave it stored for good.
func (p *Photos) Remove(ctx context.Context, name string) error {
	if !ValidPhotoName(name) {
		return nil
	}
	ctx, cancel := cleanupContext(ctx)
	defer cancel()
	return p.files.Delete(ctx, name)
}

// Open opens a stored photo; unknown names match fs.ErrNotExist.
func (p *Photos) Open(ctx context.Context, name string) (*StoredFile, error) {
	if !ValidPhotoName(name) {
		return nil, notFound(name)
	}
	return p.files.Open(ctx, name)
}

// SignedURL is a short-lived URL of the photo at the store itself, for
// stores that make them (the configuration allows redirects only then).
func (p *Photos) SignedURL(ctx context.Context, name string, ttl time.Duration) (string, error) {
	linker, ok := p.files.(FileLinker)
	if !ok {
		return "", errors.New("this file store cannot make download links")
	}
	if !ValidPhotoName(name) {
		return "", notFound(name)
	}
	return linker.SignedURL(ctx, name, ttl)
}
