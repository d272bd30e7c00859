package models

import (
	"context"
	"time"
)

// delcontacts: numbers taken out of an address book.

// Delete removes numbers from the caller's address book and returns how many
// were there.
func (c *Contacts) Delete(ctx context.Context, caller *User, raw []string) (int, error) {
	start := time.Now()
	rec := ContactSync{UserID: caller.ID, At: toMillis(c.clock.Now()), Kind: SyncDelete, Received: len(raw)}
	if len(raw) > c.cfg.MaxPerRequest {
		rec.Refused = SyncRefusedTooLarge
		c.later(&rec, start)
		return 0, c.tooLarge(len(raw))
	}
	numbers := c.norm.normalize(raw, Phone{E164: caller.Phone}.ContactRegion())
	rec.Valid = len(numbers)
	removed, err := WriteTx(ctx, c.db, func(tx *Tx) (int, error) {
		// Locked, the book cannot be written by an upload on another
		// instance between the deletion and the forgetting of its lists:
		// such an upload's digest, committed after this transaction's
		// forgetLists, would claim a list whose number was just deleted.
		if _, err := lockUsers(tx.DB, caller.ID); err != nil {
			return 0, err
		}
		removed := 0
		for _, chunk := range chunks(numbers, 500) {
			hs := make([][]byte, len(chunk))
			for i, e := range chunk {
				hs[i] = c.norm.hash(c.hasher, e)
			}
			res := tx.Exec("DELETE FROM address_book WHERE owner_id = ? AND contact_hash IN ?", caller.ID, hs)
			if res.Error != nil {
				return 0, res.Error
			}
			removed += int(res.RowsAffected)
		}
		if removed > 0 { // a stored list may no longer be all there
			if err := forgetLists(tx.DB, caller.ID); err != nil {
				return 0, err
			}
		}
		rec.Matched = removed
		return removed, c.insertRecord(tx.DB, &rec, start)
	})
	return removed, err
}

func chunks[T any](s []T, n int) [][]T {
	var out [][]T
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	if len(s) > 0 {
		out = append(out, s)
	}
	return out
}
