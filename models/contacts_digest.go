package models

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"time"

	"gorm.io/gorm"
)

// Digests of uploaded lists known to be all in their owner's address book
// (migration 0010): a re-sync of such a list skips the lookup of each of its
// numbers in the book, the larger half of its database work.

// listDigest identifies a sorted, duplicate-free list of hashes.
func listDigest(sorted [][]byte) []byte {
	h := sha256.New()
	for _, x := range sorted {
		h.Write(x)
	}
	return h.Sum(nil)[:PhoneHashLen]
}

// digestsPerOwner is how many lists' digests an owner keeps (the latest).
const digestsPerOwner = 16

// knownList reports whether digest is one of the owner's stored lists.
func knownList(ctx context.Context, conn *sql.Conn, ownerID int64, digest []byte) (bool, error) {
	var one int
	err := conn.QueryRowContext(ctx, `SELECT 1 FROM address_book_digest WHERE owner_id = $1 AND digest = $2`,
		ownerID, digest).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// storeDigest records, in tx, that the list of digest is all in the book,
// keeping the owner's latest digestsPerOwner. stillThere, when not empty,
// is the list itself (hashList): the digest is then stored only if every
// number is still in the book, for a list seen all there outside tx.
func storeDigest(db *DB, tx *gorm.DB, ownerID int64, digest []byte, at int64, stillThere string) error {
	q := `INSERT INTO address_book_digest (owner_id, digest, at) VALUES (?, ?, ?)
		ON CONFLICT (owner_id, digest) DO UPDATE SET at = excluded.at`
	args := []any{ownerID, digest, at}
	if stillThere != "" {
		l := db.hashList("?")
		q = `INSERT INTO address_book_digest (owner_id, digest, at) SELECT ?, ?, ?
			WHERE NOT EXISTS (SELECT 1 FROM ` + l.rows + ` WHERE NOT EXISTS (
				SELECT 1 FROM address_book WHERE owner_id = ? AND contact_hash = ` + l.hash + `))
			ON CONFLICT (owner_id, digest) DO UPDATE SET at = excluded.at`
		args = append(args, stillThere, ownerID)
	}
	if err := tx.Exec(q, args...).Error; err != nil {
		return err
	}
	return tx.Exec(`DELETE FROM address_book_digest WHERE owner_id = ? AND digest NOT IN (
		SELECT digest FROM address_book_digest WHERE owner_id = ? ORDER BY at DESC LIMIT ?)`,
		ownerID, ownerID, digestsPerOwner).Error
}

// forgetLists removes the owner's digests: numbers may have left the book.
func forgetLists(tx *gorm.DB, ownerID int64) error {
	return tx.Exec(`DELETE FROM address_book_digest WHERE owner_id = ?`, ownerID).Error
}

// pendingDigest is a list a re-sync found all in the book, to be recorded
// with the next batch of sync records.
type pendingDigest struct {
	digest []byte
	list   string // hashList, for the check in the write
	at     int64
}

// maxPendingDigestBytes bounds the lists held for the next batch; past it a
// list is not queued (its next re-sync looks its numbers up and tries again).
const maxPendingDigestBytes = 16 << 20

// laterDigest queues the digest of a list a re-sync found all in the book.
func (c *Contacts) laterDigest(ownerID int64, digest []byte, list string, now time.Time) {
	c.unwritten.mu.Lock()
	defer c.unwritten.mu.Unlock()
	if _, queued := c.unwritten.digests[ownerID]; queued || c.unwritten.digestBytes+len(list) > maxPendingDigestBytes {
		return
	}
	if c.unwritten.digests == nil {
		c.unwritten.digests = map[int64]pendingDigest{}
	}
	c.unwritten.digests[ownerID] = pendingDigest{digest: digest, list: list, at: toMillis(now)}
	c.unwritten.digestBytes += len(list)
}

// writeDigests records queued digests in tx, each only if its list is still
// all in the book.
func writeDigests(db *DB, tx *gorm.DB, digests map[int64]pendingDigest) error {
	for owner, d := range digests {
		if err := storeDigest(db, tx, owner, d.digest, d.at, d.list); err != nil {
			return err
		}
	}
	return nil
}
