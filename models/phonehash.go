package models

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"runtime"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// PhoneHashLen is the length of stored phone hashes: HMAC-SHA256 truncated to
// 128 bits (RFC 2104 allows truncation to half the output). Address books are
// the largest table by far, and 16 bytes keep collisions out of reach
// (2^64 numbers for an even chance of one).
const PhoneHashLen = 16

// PhoneHasher computes the keyed hash under which numbers are stored in
// address books and on users: knowing the hash of a number requires the
// server's key, so a copy of the database does not give away who is in whose
// address book, nor the numbers of people who are not users.
type PhoneHasher struct {
	pool sync.Pool
}

// NewPhoneHasher returns a hasher with the server's contacts key.
func NewPhoneHasher(key []byte) *PhoneHasher {
	k := append([]byte(nil), key...)
	return &PhoneHasher{pool: sync.Pool{New: func() any { return hmac.New(sha256.New, k) }}}
}

// Hash returns the keyed hash of an E.164 number.
func (h *PhoneHasher) Hash(e164 string) []byte {
	m := h.pool.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(e164))
	var sum [sha256.Size]byte
	out := m.Sum(sum[:0])
	h.pool.Put(m)
	return append([]byte(nil), out[:PhoneHashLen]...)
}

// normalizer reads address-book numbers into E.164, with a bounded cache:
// phonenumbers' parser costs about 10 µs a number (regular expressions), and
// clients send the same address book again on every full sync.
type normalizer struct {
	mu     sync.RWMutex
	cache  map[string]string // region "|" number as sent -> E.164, "" when not a possible number
	hashes map[string][]byte // E.164 -> keyed hash: HMAC-SHA256 is the next largest cost of a re-sync
	max    int
}

func newNormalizer(max int) *normalizer {
	return &normalizer{cache: map[string]string{}, hashes: map[string][]byte{}, max: max}
}

// hash returns the keyed hash of e164, from the cache when it is there. The
// returned slice is shared: callers must not change it.
func (n *normalizer) hash(h *PhoneHasher, e164 string) []byte {
	if n.max <= 0 {
		return h.Hash(e164)
	}
	n.mu.RLock()
	v, ok := n.hashes[e164]
	n.mu.RUnlock()
	if ok {
		return v
	}
	v = h.Hash(e164)
	n.mu.Lock()
	if len(n.hashes) >= n.max {
		clear(n.hashes)
	}
	n.hashes[e164] = v
	n.mu.Unlock()
	return v
}

// ParseContactPhone reads a number from an uploaded address book. National
// formats are read in the uploader's region; numbers without '+' that are
// not possible there are tried as international (the protocol's own digits
// with country code). It returns "" when the number is not possible.
func ParseContactPhone(raw, region string) string {
	s, err := cleanPhone(raw)
	if err != nil {
		return ""
	}
	return parseCleanContact(s, region)
}

func parseCleanContact(s, region string) string {
	if region == "" {
		region = "ZZ"
	}
	try := func(s, region string) string {
		num, err := phonenumbers.Parse(s, region)
		if err != nil || num.GetNationalNumber() == 0 || !phonenumbers.IsPossibleNumber(num) {
			return ""
		}
		e := phonenumbers.Format(num, phonenumbers.E164)
		// A few odd inputs (zeros after the country code) format to an
		// E.164 that itself reads as another number. The stored form must be
		// a fixed point, or one number would have two hashes: such inputs
		// are dropped. Only numbers with leading zeros can do this, so the
		// second parse is paid only for them.
		if num.GetItalianLeadingZero() && !isFixedPoint(e) {
			return ""
		}
		return e
	}
	if strings.HasPrefix(s, "+") {
		return try(s, region)
	}
	if rest, ok := strings.CutPrefix(s, "00"); ok {
		// The international prefix most of the world dials, accepted by
		// login everywhere (ParsePhone): the same reading here, or a US
		// uploader's "0012015550123" would match nobody.
		if e := try("+"+rest, "ZZ"); e != "" {
			return e
		}
	}
	if e := try(s, region); e != "" {
		return e
	}
	return try("+"+s, "ZZ")
}

// normalize returns the distinct E.164 numbers among raw, in first-seen
// order. Large batches are parsed on all cores.
func (n *normalizer) normalize(raw []string, region string) []string {
	out := make([]string, len(raw))
	parseRange := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out[i] = n.one(raw[i], region)
		}
	}
	workers := runtime.GOMAXPROCS(0)
	if len(raw) < 256 || workers == 1 {
		parseRange(0, len(raw))
	} else {
		var wg sync.WaitGroup
		step := (len(raw) + workers - 1) / workers
		for lo := 0; lo < len(raw); lo += step {
			wg.Go(func() { parseRange(lo, min(lo+step, len(raw))) })
		}
		wg.Wait()
	}
	seen := make(map[string]struct{}, len(out))
	uniq := out[:0]
	for _, e := range out {
		if e == "" {
			continue
		}
		if _, dup := seen[e]; dup {
			continue
		}
		seen[e] = struct{}{}
		uniq = append(uniq, e)
	}
	return uniq
}

func (n *normalizer) one(raw, region string) string {
	if n.max <= 0 || len(raw) > maxPhoneInput+16 {
		return ParseContactPhone(raw, region)
	}
	// Keyed by the text as sent (clients resend the same text), built on
	// the stack: a hit costs neither the cleaning nor an allocation.
	var buf [96]byte
	key := append(append(append(buf[:0], region...), '|'), raw...)
	n.mu.RLock()
	e, ok := n.cache[string(key)]
	n.mu.RUnlock()
	if ok {
		return e
	}
	e = ParseContactPhone(raw, region)
	n.mu.Lock()
	if len(n.cache) >= n.max {
		clear(n.cache) // crude but bounded; a full cache refills from the next syncs
	}
	n.cache[string(key)] = e
	n.mu.Unlock()
	return e
}
