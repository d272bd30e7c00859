package models

import (
	"encoding/binary"
	"sync"
)

// unknownTokens remembers the hashes of tokens that no session has, so that
// an app presenting a dead token again and again (after a sign-out on
// another device, a deletion, or a restored backup) is refused without a
// database lookup. It is only used when Roster issues the tokens itself:
// 256 random bits are never handed out twice, so a token unknown once stays
// unknown. (mesibo may hand out a token it gave before, which would then
// have a session.) Revoked and expired sessions are not remembered: they are
// found, and refused by what their row says.
//
// It is direct-mapped: a fixed table indexed by the hash's first bytes, each
// slot holding the latest hash that fell there. Its memory is fixed, it
// never allocates, and a flood of random tokens only overwrites slots (each
// such token is looked up in the database, as without the table).
type unknownTokens struct {
	mu    sync.Mutex
	slots [unknownTokenSlots][tokenHashLen]byte
}

// unknownTokenSlots: 4,096 slots of 32 bytes, 128 KiB.
const unknownTokenSlots = 4096

const tokenHashLen = 32 // SHA-256

func unknownTokenSlot(h []byte) int { return int(binary.LittleEndian.Uint16(h)) % unknownTokenSlots }

// has reports whether the token hash h was remembered as unknown.
func (t *unknownTokens) has(h []byte) bool {
	if t == nil || len(h) != tokenHashLen {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.slots[unknownTokenSlot(h)][:]) == string(h)
}

// add remembers the token hash h as unknown.
func (t *unknownTokens) add(h []byte) {
	if t == nil || len(h) != tokenHashLen {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	copy(t.slots[unknownTokenSlot(h)][:], h)
}
