package models

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"time"
)

// A generated secret's check value is recorded in the database the first
// time a server starts with it (secret_checks): a later start with a
// different key, which would silently match no stored hash, is then told
// apart from the right one. The value is an HMAC of a fixed label under the
// key: it tells whether a key is the same, and nothing about the key.

// ErrSecretMismatch is a key whose check value differs from the recorded one.
var ErrSecretMismatch = errors.New("the key is not the one whose check value the database holds")

// secretCheckValue is the check value of a named secret's key.
func secretCheckValue(name string, key []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("roster secret check: " + name))
	return m.Sum(nil)
}

// CheckSecret compares a secret's key with the check value the database
// holds for it, recording it when there is none (a new database, or the
// first start of one made before check values existed): recorded says so.
// ErrSecretMismatch: a different key's value is recorded. Of several
// instances starting at once with different keys, the first records and
// the others are refused.
func (d *DB) CheckSecret(ctx context.Context, name string, key []byte, now time.Time) (recorded bool, err error) {
	want := secretCheckValue(name, key)
	type held struct {
		recorded bool
		stored   []byte
	}
	h, err := WriteTx(ctx, d, func(tx *Tx) (held, error) {
		res := tx.Exec(`INSERT INTO secret_checks (name, check_value, recorded_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO NOTHING`, name, want, toMillis(now))
		if res.Error != nil {
			return held{}, res.Error
		}
		h := held{recorded: res.RowsAffected == 1}
		err := tx.Raw("SELECT check_value FROM secret_checks WHERE name = ?", name).Row().Scan(&h.stored)
		return h, err
	})
	if err != nil {
		return false, err
	}
	if !hmac.Equal(h.stored, want) {
		return false, ErrSecretMismatch
	}
	return h.recorded, nil
}

// RecordSecret records a secret's check value in place of the one held: for
// a key changed while no stored data depends on it.
func (d *DB) RecordSecret(ctx context.Context, name string, key []byte, now time.Time) error {
	return d.WriteTx(ctx, func(tx *Tx) error {
		return tx.Exec("UPDATE secret_checks SET check_value = ?, recorded_at = ? WHERE name = ?",
			secretCheckValue(name, key), toMillis(now), name).Error
	})
}
