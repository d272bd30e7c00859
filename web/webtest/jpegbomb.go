package webtest

import "bytes"

// ProgressiveJPEG is a w x h grayscale progressive JPEG of one DC scan and
// scans-1 AC scans, all of grey blocks: a few bytes per scan, each of which
// the decoder walks over every block (w/8 x h/8 of them), keeping 256
// bytes of coefficients per block between scans (the photo tests and
// web/testdata/photobomb). w and h are at most 65535.
func ProgressiveJPEG(w, h, scans int) []byte {
	var out bytes.Buffer
	segment := func(marker byte, data ...byte) {
		n := len(data) + 2
		out.Write([]byte{0xFF, marker, byte(n >> 8), byte(n)})
		out.Write(data)
	}
	out.Write([]byte{0xFF, 0xD8})
	segment(0xDB, append([]byte{0x00}, bytes.Repeat([]byte{1}, 64)...)...) // quantization table 0, all ones
	segment(0xC2, 8, byte(h>>8), byte(h), byte(w>>8), byte(w), 1, 1, 0x11, 0)
	// One code of one bit ("0") in each table: DC symbol 0 (no change), AC
	// symbol 0xE0 (a run of 2^14 + 14 extra bits of empty blocks).
	oneCode := func(class, symbol byte) []byte {
		return append([]byte{class, 1}, append(make([]byte, 15), symbol)...)
	}
	segment(0xC4, oneCode(0x00, 0x00)...)
	segment(0xC4, oneCode(0x10, 0xE0)...)
	blocks := ((w + 7) / 8) * ((h + 7) / 8)

	// The DC scan: one "0" bit per block.
	segment(0xDA, 1, 1, 0x00, 0, 0, 0)
	out.Write(entropyCoded(blocks, func(bits *bitWriter) { bits.write(0, 1) }))
	// The AC scans: runs of up to 32767 empty blocks, "0" then 14 bits.
	runs := make([]byte, 0, 16)
	for left := blocks; left > 0; left -= 32767 {
		runs = append(runs, 0)
	}
	for range scans - 1 {
		segment(0xDA, 1, 1, 0x00, 1, 63, 0)
		out.Write(entropyCoded(len(runs), func(bits *bitWriter) {
			bits.write(0, 1)
			bits.write(1<<14-1, 14) // 2^14 + (2^14 - 1) = 32767 blocks
		}))
	}
	out.Write([]byte{0xFF, 0xD9})
	return out.Bytes()
}

// entropyCoded writes n codes, pads the last byte with ones and stuffs a
// zero after every 0xFF, as the standard requires.
func entropyCoded(n int, code func(*bitWriter)) []byte {
	var bits bitWriter
	for range n {
		code(&bits)
	}
	if bits.n > 0 {
		bits.write(1<<(8-bits.n)-1, 8-bits.n)
	}
	return bytes.ReplaceAll(bits.out, []byte{0xFF}, []byte{0xFF, 0x00})
}

type bitWriter struct {
	out []byte
	acc uint32
	n   int // bits in acc
}

func (b *bitWriter) write(v uint32, n int) {
	for i := n - 1; i >= 0; i-- {
		b.acc = b.acc<<1 | (v>>i)&1
		b.n++
		if b.n == 8 {
			b.out = append(b.out, byte(b.acc))
			b.acc, b.n = 0, 0
		}
	}
}
