package models

import "time"

// Accounts are the changes a user makes to their account as a whole:
// deleting it and exporting what is held about it.
type Accounts struct {
	db       *DB
	clock    Clock
	sessions *Sessions // revocations are announced through it
	events   *Events   // a deleted account's groups tell their members
	files    FileStore // a deleted account's photo and uploads go too
	// grace: how long a deletion the user asks for waits (0: it is done
	// at once); hasher restores a cancelled one's keyed hash.
	grace  time.Duration
	hasher *PhoneHasher
}

// NewAccounts returns the account ops' model.
func NewAccounts(db *DB, clock Clock, sessions *Sessions, events *Events, files FileStore, grace time.Duration, hasher *PhoneHasher) *Accounts {
	return &Accounts{db: db, clock: clock, sessions: sessions, events: events, files: files, grace: grace, hasher: hasher}
}
