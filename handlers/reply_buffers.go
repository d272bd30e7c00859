package handlers

import (
	"io"
	"sync"
)

// Contact lists are built in recycled buffers (a reply of 1,000 contacts
// is about 350 KB) and sent from them as the reply's body stream, without
// a copy into the response. The pool is bounded by bytes, not by the
// connections served: idle buffers beyond replyBuffersKept bytes, and any
// buffer larger than replyBufferLargest, are left to the garbage
// collector, so a burst of replies does not leave its buffers behind.
const (
	replyBuffersKept   = 8 << 20 // about twenty 1,000-contact replies
	replyBufferLargest = 2 << 20 // about 6,000 contacts
)

// replyBuffers is a free list of buffers, bounded by their total capacity.
type replyBuffers struct {
	mu    sync.Mutex
	free  [][]byte
	bytes int // total capacity of free
}

// get returns an empty buffer, recycled when one is free.
func (p *replyBuffers) get() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.free)
	if n == 0 {
		return nil
	}
	b := p.free[n-1]
	p.free[n-1] = nil
	p.free = p.free[:n-1]
	p.bytes -= cap(b)
	return b[:0]
}

// put hands b back; it is kept only while the pool stays within its bounds.
func (p *replyBuffers) put(b []byte) {
	if cap(b) == 0 || cap(b) > replyBufferLargest {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bytes+cap(b) > replyBuffersKept {
		return
	}
	p.free = append(p.free, b)
	p.bytes += cap(b)
}

// replyStream is a reply body sent from the slices it is made of (the
// envelope around a pre-encoded list and the list itself); fasthttp calls
// Close once the body is written or dropped, which hands the list's buffer
// back.
type replyStream struct {
	parts   [][]byte
	release func()
}

func (r *replyStream) size() int {
	n := 0
	for _, p := range r.parts {
		n += len(p)
	}
	return n
}

func (r *replyStream) Read(b []byte) (int, error) {
	for len(r.parts) > 0 && len(r.parts[0]) == 0 {
		r.parts = r.parts[1:]
	}
	if len(r.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(b, r.parts[0])
	r.parts[0] = r.parts[0][n:]
	return n, nil
}

// WriteTo writes the parts as they are: io.Copy uses it instead of
// copying through a small buffer.
func (r *replyStream) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for len(r.parts) > 0 {
		n, err := w.Write(r.parts[0])
		total += int64(n)
		r.parts[0] = r.parts[0][n:]
		if err != nil {
			return total, err
		}
		r.parts = r.parts[1:]
	}
	return total, nil
}

func (r *replyStream) Close() error {
	r.parts = nil
	if r.release != nil {
		r.release()
		r.release = nil
	}
	return nil
}
