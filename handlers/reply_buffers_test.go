package handlers

import "testing"

// The pool keeps idle buffers up to replyBuffersKept bytes in all, never
// one larger than replyBufferLargest, and hands kept ones back empty.
func TestReplyBuffersAreBoundedByBytes(t *testing.T) {
	var p replyBuffers
	if b := p.get(); b != nil {
		t.Fatalf("an empty pool gave a buffer of %d bytes", cap(b))
	}
	p.put(make([]byte, 10, replyBufferLargest+1))
	if p.bytes != 0 {
		t.Errorf("a buffer over replyBufferLargest was kept (%d bytes held)", p.bytes)
	}
	const size = 1 << 20
	for range 2 * replyBuffersKept / size {
		p.put(make([]byte, 0, size))
	}
	if p.bytes != replyBuffersKept || len(p.free) != replyBuffersKept/size {
		t.Errorf("holds %d bytes in %d buffers, want %d bytes", p.bytes, len(p.free), replyBuffersKept)
	}
	b := p.get()
	if cap(b) != size || len(b) != 0 || p.bytes != replyBuffersKept-size {
		t.Errorf("got a buffer of len %d cap %d, pool left with %d bytes", len(b), cap(b), p.bytes)
	}
}
