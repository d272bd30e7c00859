package models

// MaxJPEGScans is the most scans (passes over the image) an uploaded JPEG
// may have. Cameras write one; progressive encoders write about ten
// (libjpeg's default script) and rarely more than thirty. Each scan makes
// the decoder walk every block of its components, so the count, not the
// file's size, is what the decode's CPU time grows with: a 160 KB 23 MP
// file of 3,000 scans takes a core for about a minute, 64 scans of it
// about a second.
const MaxJPEGScans = 64

// jpegLayout is what the markers of a JPEG declare, read without decoding.
type jpegLayout struct {
	progressive   bool
	width, height int
	// sampling is each frame component's (h, v) sampling factors.
	sampling [][2]int
	scans    int
}

// readJPEGLayout walks the markers of a JPEG file: the frame header (the
// first SOF0, SOF1 or SOF2, the frames the standard decoder reads) and the
// number of scans (SOS markers). It checks nothing else: what it cannot
// read is left to the decoder to refuse. ok is false when data is not a
// JPEG.
func readJPEGLayout(data []byte) (l jpegLayout, ok bool) {
	if len(data) < 2 || data[0] != 0xFF || data[1] != 0xD8 {
		return l, false
	}
	p := 2
	for p+1 < len(data) {
		if data[p] != 0xFF {
			p++ // not a marker: the decoder refuses what matters
			continue
		}
		m := data[p+1]
		switch {
		case m == 0xFF: // fill byte before a marker
			p++
			continue
		case m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD8): // no length
			p += 2
			continue
		case m == 0xD9: // end of image
			return l, true
		}
		if p+4 > len(data) {
			return l, true
		}
		n := int(data[p+2])<<8 | int(data[p+3])
		if n < 2 || p+2+n > len(data) {
			return l, true
		}
		seg := data[p+4 : p+2+n]
		p += 2 + n
		switch m {
		case 0xC0, 0xC1, 0xC2:
			if l.sampling == nil && len(seg) >= 6 {
				l.progressive = m == 0xC2
				l.height = int(seg[1])<<8 | int(seg[2])
				l.width = int(seg[3])<<8 | int(seg[4])
				for i := range int(seg[5]) {
					if 6+3*i+2 >= len(seg) {
						break
					}
					hv := seg[6+3*i+1]
					l.sampling = append(l.sampling, [2]int{int(hv >> 4), int(hv & 0x0F)})
				}
			}
		case 0xDA:
			l.scans++
			p = skipEntropyCoded(data, p)
		}
	}
	return l, true
}

// skipEntropyCoded returns the position of the first marker at or after p
// that ends a scan's entropy-coded data: stuffed zero bytes and restart
// markers are part of the data.
func skipEntropyCoded(data []byte, p int) int {
	for p+1 < len(data) {
		if data[p] == 0xFF && data[p+1] != 0x00 && (data[p+1] < 0xD0 || data[p+1] > 0xD7) {
			return p
		}
		p++
	}
	return len(data)
}

// coefficientBytes is the memory the standard decoder keeps for a
// progressive JPEG's coefficients between scans: one 64 x int32 block per
// 8x8 block of each component, over whole MCUs (as image/jpeg sizes them). A sequential JPEG keeps
// none.
func (l jpegLayout) coefficientBytes() int64 {
	if !l.progressive || len(l.sampling) == 0 {
		return 0
	}
	sampling := l.sampling
	if len(sampling) == 1 {
		sampling = [][2]int{{1, 1}} // one component is one block per MCU, whatever it declares
	}
	// The decoder sizes MCUs by the first component's factors.
	h0, v0 := max(sampling[0][0], 1), max(sampling[0][1], 1)
	mcus := int64((l.width+8*h0-1)/(8*h0)) * int64((l.height+8*v0-1)/(8*v0))
	var blocks int64
	for _, s := range sampling {
		blocks += mcus * int64(max(s[0], 1)*max(s[1], 1))
	}
	return blocks * 64 * 4
}
