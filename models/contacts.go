package models

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// ContactsConfig sets the limits of contact synchronization.
type ContactsConfig struct {
	MaxPerRequest int     // numbers per getcontacts/delcontacts request
	Allowance     int     // never-seen numbers a user may upload at once (bucket size)
	RefillPerDay  float64 // never-seen numbers the allowance regains per day
	// ParseCacheSize bounds the cache of parsed numbers (0 disables it).
	ParseCacheSize int
	// WritesPerDay is the address-book rows a user's uploads may write or
	// delete at once (bucket size), regained over a day: a reset costs the
	// book it clears and the numbers it stores, an upload the numbers new
	// to the book. Uploads that change nothing cost nothing.
	WritesPerDay int
}

// DefaultContactsConfig: 10,000 numbers a request; 50,000 never-seen numbers
// at once, regaining 10,000 a day. A phone's address book rarely holds more
// than a few thousand numbers, so people never meet the allowance; a script
// walking number ranges meets it within minutes. 100,000 rows of writes a
// day: five resets a day of the largest book a request may carry.
func DefaultContactsConfig() ContactsConfig {
	return ContactsConfig{MaxPerRequest: 10_000, Allowance: 50_000, RefillPerDay: 10_000, ParseCacheSize: 200_000,
		WritesPerDay: 100_000}
}

// ReasonTooLarge refuses a contact sync of more numbers than one request
// may carry; the sync's record says SyncRefusedTooLarge.
const ReasonTooLarge Reason = "too_large"

// Contacts stores address books as keyed hashes and finds the users in them.
type Contacts struct {
	db        *DB
	clock     Clock
	cfg       ContactsConfig
	hasher    *PhoneHasher
	norm      *normalizer
	unwritten *unwrittenSyncs
}

// NewContacts returns the contacts service.
func NewContacts(db *DB, clock Clock, hasher *PhoneHasher, cfg ContactsConfig) *Contacts {
	return &Contacts{db: db, clock: clock, cfg: cfg, hasher: hasher, norm: newNormalizer(cfg.ParseCacheSize), unwritten: &unwrittenSyncs{}}
}

// TableName tells GORM the table.
func (ContactSync) TableName() string { return "contact_syncs" }

// Sync kinds (ContactSync.Kind) and refusals (ContactSync.Refused: the
// values stored in contact_syncs.refused).
const (
	SyncUpload      = "upload"
	SyncIncremental = "incremental"
	SyncDelete      = "delete"

	SyncRefusedTooLarge  = "toolarge"
	SyncRefusedRateLimit = "ratelimit"
)

// SyncResult is the answer to an address-book upload.
type SyncResult struct {
	Contacts ContactList // the registered users among the numbers, visible to the caller
	Sync     ContactSync
}

// ContactList is the users a sync found, as the protocol's JSON array of
// contact objects. Each user's object is kept encoded in users.contact_json
// (by triggers), and SQLite joins them into one text: a reply of thousands
// of contacts is one row, one copy and no encoding, instead of a
// database/sql round trip (a cgo call and a copy) per contact.
type ContactList struct {
	JSON []byte // a JSON array, appended to the buffer the caller passed
	N    int    // the contacts in it
}

func (c *Contacts) tooLarge(n int) *RefusedError {
	return &RefusedError{Reason: ReasonTooLarge,
		Message: fmt.Sprintf("Too many numbers in one request (%d); send at most %d at a time.", n, c.cfg.MaxPerRequest)}
}

// Upload stores numbers in the caller's address book (after clearing it when
// reset) and returns the users among them that the caller may see. Numbers
// that are not possible numbers are skipped. Never-seen numbers draw on the
// caller's allowance. The reply's array is appended to dst (a buffer the
// caller may reuse once the reply is sent).
//
// Only a change takes the writer: the match and the check "is every number
// already in the book" run on the read pool, so a re-sync that changes
// nothing runs in parallel with others. When something is new (or reset is
// set) the allowance is checked and spent in the write transaction that
// stores the numbers, as before: the read-pool check only ever decides that
// there is nothing to spend.
func (c *Contacts) Upload(ctx context.Context, caller *User, raw []string, reset bool, dst []byte) (*SyncResult, error) {
	start := time.Now()
	now := c.clock.Now()
	rec := ContactSync{UserID: caller.ID, At: toMillis(now), Kind: SyncUpload, Reset: reset, Received: len(raw)}
	if len(raw) > c.cfg.MaxPerRequest {
		rec.Refused = SyncRefusedTooLarge
		c.later(&rec, start)
		return nil, c.tooLarge(len(raw))
	}
	numbers := c.norm.normalize(raw, Phone{E164: caller.Phone}.ContactRegion())
	rec.Valid = len(numbers)
	hashes := make([][]byte, len(numbers))
	for i, e := range numbers {
		hashes[i] = c.norm.hash(c.hasher, e)
	}
	callerHash := c.norm.hash(c.hasher, caller.Phone)
	// Sorted, the lookups walk the indexes in order: fewer distinct pages.
	slices.SortFunc(hashes, bytes.Compare)
	list := hashList(hashes)
	digest := listDigest(hashes)
	var (
		users = ContactList{JSON: append(dst, "[]"...)}
		// missing holds the numbers (hex hashes) the read found not in the
		// book: all the write has to look at, unless the book is reset.
		missing []string
		known   bool // the list's digest is stored: all of it is in the book
		// unchanged: the book is reset to exactly what it holds (held
		// numbers).
		unchanged bool
		held      int
		// overBudget: the user's budget of writes is short of this upload.
		overBudget *RefusedError
	)
	// The rows a write would change: the numbers the read finds missing
	// (all of them when the whole list is) and, for a reset, the book it
	// clears and the whole list. Read before the write, so that an upload
	// over the budget is refused without taking the writer.
	writes := func() int {
		if reset {
			return held + len(hashes)
		}
		return len(missing)
	}
	if len(hashes) == 0 && reset {
		err := c.onReader(ctx, func(conn *sql.Conn, qctx context.Context) error {
			var err error
			if held, unchanged, err = bookIsList(qctx, conn, c.db, caller.ID, list, 0); err != nil || unchanged {
				return err
			}
			overBudget, err = c.bookWritesRefused(qctx, conn, caller.ID, writes(), now)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	if len(hashes) > 0 {
		// Who is visible does not depend on the caller's own book, so the
		// match can run before (and outside) any write.
		err := c.onReader(ctx, func(conn *sql.Conn, qctx context.Context) error {
			var err error
			users, err = queryList(qctx, conn, dst, c.db.matchSQL(), c.db.matchList(list, hashes), caller.ID, callerHash)
			if err != nil {
				return err
			}
			if reset {
				if held, unchanged, err = bookIsList(qctx, conn, c.db, caller.ID, list, len(hashes)); err != nil || unchanged {
					return err
				}
			} else {
				// A list known to be all in the book needs no lookup of each number.
				if known, err = knownList(qctx, conn, caller.ID, digest); err != nil || known {
					return err
				}
				l := c.db.hashList("$1")
				missing, err = QueryStrings(qctx, conn, `SELECT j.value FROM `+l.rows+` WHERE NOT EXISTS (
					SELECT 1 FROM address_book WHERE owner_id = $2 AND contact_hash = `+l.hash+`)`, list, caller.ID)
				if err != nil || len(missing) == 0 {
					return err
				}
			}
			overBudget, err = c.bookWritesRefused(qctx, conn, caller.ID, writes(), now)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	rec.Matched = users.N
	// A re-sync that adds nothing, or a reset to the same book, writes
	// nothing: clients reset and resend their whole book often, and each
	// such write would take the writer for the whole book.
	if (!reset || unchanged) && len(missing) == 0 {
		if !known && len(hashes) > 0 {
			c.laterDigest(caller.ID, digest, list, now)
		}
		c.later(&rec, start)
		return &SyncResult{Contacts: users, Sync: rec}, nil
	}
	if overBudget != nil {
		rec.Refused, rec.Matched = SyncRefusedRateLimit, 0
		c.later(&rec, start)
		return nil, overBudget
	}
	// The write looks only at what the read found missing: a re-sync with
	// one new number holds the writer for one number, not for the book. A
	// number added meanwhile is skipped by the checks below; one deleted
	// meanwhile stays deleted (as if the deletion came after this upload).
	// Only a write of the whole list makes the whole list known (its digest).
	toStore, whole := list, reset || len(missing) == len(hashes)
	if !whole {
		toStore = stringList(missing)
	}
	type written struct {
		rec     ContactSync
		refused *RefusedError
	}
	w, err := WriteTx(ctx, c.db, func(tx *Tx) (written, error) {
		rec := rec // each run records from the read's record
		// The count of never-seen numbers, the allowance spent on them, the
		// reset and the digest all read what they then change: with the
		// book locked, another instance's upload, reset or deletion of this
		// book waits until this one is committed, and then sees it.
		if _, err := lockUsers(tx.DB, caller.ID); err != nil {
			return written{}, err
		}
		// Never-seen numbers: in neither the address book nor what the last
		// reset removed from it (for a day). Clients resend the whole book
		// after reset=1, in batches: that must not cost the allowance again.
		l := c.db.hashList("?")
		err := tx.Raw(`SELECT COUNT(*) FROM `+l.rows+` WHERE NOT EXISTS (
			SELECT 1 FROM address_book WHERE owner_id = ? AND contact_hash = `+l.hash+`) AND NOT EXISTS (
			SELECT 1 FROM address_book_reset WHERE owner_id = ? AND contact_hash = `+l.hash+` AND reset_at > ?)`,
			toStore, caller.ID, caller.ID, toMillis(now.Add(-resetMemory))).Scan(&rec.NewNumbers).Error
		if err != nil {
			return written{}, err
		}
		// A refused upload stores nothing but its sync record.
		refuse := func(refused *RefusedError) (written, error) {
			rec.Refused, rec.Matched = SyncRefusedRateLimit, 0
			err := c.insertRecord(tx.DB, &rec, start)
			return written{rec, refused}, err
		}
		refused, err := c.spendAllowance(tx.DB, caller.ID, rec.NewNumbers, now)
		if err != nil {
			return written{}, err
		}
		if refused != nil {
			return refuse(refused)
		}
		// The book's size as the write finds it, for a reset.
		if reset {
			if err := tx.Raw("SELECT COUNT(*) FROM address_book WHERE owner_id = ?", caller.ID).Scan(&held).Error; err != nil {
				return written{}, err
			}
		}
		if refused, err = c.spendBookWrites(tx.DB, caller.ID, writes(), now); err != nil {
			return written{}, err
		}
		if refused != nil {
			return refuse(refused)
		}
		if reset {
			if err := c.resetBook(tx.DB, caller.ID, now); err != nil {
				return written{}, err
			}
		}
		if len(hashes) > 0 {
			into := `address_book (owner_id, contact_hash) SELECT ?, ` + l.hash + ` FROM ` + l.rows
			err := tx.Exec(c.db.SQL("INSERT OR IGNORE INTO "+into, "INSERT INTO "+into+" ON CONFLICT DO NOTHING"),
				caller.ID, toStore).Error
			if err != nil {
				return written{}, err
			}
			if whole {
				if err := storeDigest(c.db, tx.DB, caller.ID, digest, toMillis(now), ""); err != nil {
					return written{}, err
				}
			}
		}
		err = c.insertRecord(tx.DB, &rec, start)
		return written{rec: rec}, err
	})
	if err != nil {
		return nil, err
	}
	if w.refused != nil {
		return nil, w.refused
	}
	return &SyncResult{Contacts: users, Sync: w.rec}, nil
}

// bookIsList counts the numbers in the owner's address book and reports
// whether it holds exactly the n numbers of list (a hashList without
// duplicates): as many rows, none of the list missing.
func bookIsList(ctx context.Context, conn *sql.Conn, db *DB, ownerID int64, list string, n int) (held int, same bool, err error) {
	err = conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM address_book WHERE owner_id = $1`, ownerID).Scan(&held)
	if err != nil || held != n || n == 0 {
		return held, err == nil && held == n, err
	}
	l := db.hashList("$1")
	var missing int
	err = conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+l.rows+` WHERE NOT EXISTS (
		SELECT 1 FROM address_book WHERE owner_id = $2 AND contact_hash = `+l.hash+`)`, list, ownerID).Scan(&missing)
	return held, err == nil && missing == 0, err
}

// resetMemory is how long numbers removed by a reset still count as known.
const resetMemory = 24 * time.Hour

// resetBook empties an address book, remembering what it held (only the
// latest reset is kept, so the memory is never larger than the book was).
func (c *Contacts) resetBook(tx *gorm.DB, ownerID int64, now time.Time) error {
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"DELETE FROM address_book_reset WHERE owner_id = ?", []any{ownerID}},
		{`INSERT INTO address_book_reset (owner_id, contact_hash, reset_at)
			SELECT owner_id, contact_hash, ? FROM address_book WHERE owner_id = ?`, []any{toMillis(now), ownerID}},
		{"DELETE FROM address_book WHERE owner_id = ?", []any{ownerID}},
	} {
		if err := tx.Exec(q.sql, q.args...).Error; err != nil {
			return err
		}
	}
	return forgetLists(tx, ownerID)
}

// stringList is hex hashes (from json_each) as a list for json_each again.
func stringList(hexHashes []string) string {
	return `["` + strings.Join(hexHashes, `","`) + `"]`
}

// hashList passes many hashes as one parameter: a JSON array of hex strings,
// read in SQL with json_each and unhex (PostgreSQL: json_array_elements_text
// and decode). One statement, whatever the count.
func hashList(hashes [][]byte) string {
	b := make([]byte, 0, len(hashes)*(2*PhoneHashLen+3)+2)
	b = append(b, '[')
	for i, h := range hashes {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = hex.AppendEncode(b, h)
		b = append(b, '"')
	}
	return string(append(b, ']'))
}

// onReader runs f on one connection of the read pool, taken within ctx's
// deadline. On SQLite f's queries get qctx, which has no deadline: with a
// cancellable context the driver hands every row to a new goroutine (to
// watch for cancellation), which costs more than reading a row, and these
// queries are a few thousand index lookups at most. On PostgreSQL qctx
// keeps the deadline (statementContext).
func (c *Contacts) onReader(ctx context.Context, f func(conn *sql.Conn, qctx context.Context) error) error {
	sqlDB, err := c.db.Read.DB()
	if err != nil {
		return err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return f(conn, c.db.statementContext(ctx))
}

// queryList runs a query selecting one row: the count of contacts and their
// entries joined by commas (NULL when there are none), and appends the JSON
// array to dst.
func queryList(ctx context.Context, conn *sql.Conn, dst []byte, query string, args ...any) (ContactList, error) {
	rows, err := conn.QueryContext(ctx, query, args...)
	if err != nil {
		return ContactList{}, err
	}
	defer rows.Close()
	list := ContactList{JSON: append(dst, '[')}
	if rows.Next() {
		var joined sql.RawBytes // valid until the next Next: copied below
		if err := rows.Scan(&list.N, &joined); err != nil {
			return ContactList{}, err
		}
		list.JSON = append(list.JSON, joined...)
	}
	list.JSON = append(list.JSON, ']')
	return list, rows.Err()
}

// visibleTo is the privacy rule, given the placeholders of the caller's id
// and of the caller's phone hash: never the caller; people who chose
// "nobody" never; people who chose "contacts" only when the caller is in
// their own address book. Removed accounts have no row, so they are never
// found.
func visibleTo(callerID, callerHash string) string {
	return `u.id <> ` + callerID + ` AND (u.discoverable = 'everyone' OR (u.discoverable = 'contacts' AND EXISTS (
	SELECT 1 FROM address_book mine WHERE mine.owner_id = u.id AND mine.contact_hash = ` + callerHash + `)))`
}

// matchSQL is the statement that finds the users among a list of hashes
// ($1, matchList) that the caller ($2, with phone hash $3) may see: their
// count and their entries joined by commas, in the order of their hashes.
// SQLite joins the list's rows in their order (sorted hashes).
// PostgreSQL finds them with one scan of the index (= ANY walks it once,
// in order, for the whole array) rather than one lookup per row of the
// list, and is told the order.
func (d *DB) matchSQL() string {
	if d.dialect == dialectPostgres {
		return `SELECT COUNT(*), string_agg(u.contact_json, ',' ORDER BY u.phone_hash) FROM users u
			WHERE u.phone_hash = ANY($1) AND ` + visibleTo("$2", "$3")
	}
	l := d.hashList("$1")
	return `SELECT COUNT(*), group_concat(u.contact_json, ',') FROM ` + l.rows + `
		JOIN users u ON u.phone_hash = ` + l.hash + ` WHERE ` + visibleTo("$2", "$3")
}

// matchList is matchSQL's list: the hashList on SQLite, the hashes as one
// bytea[] on PostgreSQL.
func (d *DB) matchList(list string, hashes [][]byte) any {
	if d.dialect == dialectPostgres {
		return pgArray[[]byte](hashes)
	}
	return list
}

// hashListSQL is how a statement reads a hashList parameter: as rows j
// whose hash is the expression hash.
type hashListSQL struct{ rows, hash string }

// hashList reads the hashList parameter at placeholder param (SQLite:
// json_each and unhex; PostgreSQL: json_array_elements_text and decode).
func (d *DB) hashList(param string) hashListSQL {
	if d.dialect == dialectPostgres {
		return hashListSQL{rows: "json_array_elements_text(" + param + "::json) j", hash: "decode(j.value, 'hex')"}
	}
	return hashListSQL{rows: "json_each(" + param + ") j", hash: "unhex(j.value)"}
}

// BackfillHashes sets the phone hash of users that have none (users created
// before contact sync existed, or by code that does not set it). It runs at
// start-up; HMAC cannot be computed in SQL. An account awaiting its owner's
// first sign-in keeps none: the sign-in sets it. An account pending
// deletion has none on purpose: it is hidden from address books until the
// deletion is cancelled.
func (c *Contacts) BackfillHashes(ctx context.Context) (int, error) {
	var rows []struct {
		ID    int64
		Phone string
	}
	if err := c.db.Read.WithContext(ctx).Raw("SELECT id, phone FROM users WHERE phone_hash IS NULL AND NOT awaiting_signin AND delete_after IS NULL").Scan(&rows).Error; err != nil {
		return 0, err
	}
	err := c.db.WriteTx(ctx, func(tx *Tx) error {
		for _, r := range rows {
			if err := tx.Exec("UPDATE users SET phone_hash = ? WHERE id = ? AND phone_hash IS NULL", c.hasher.Hash(r.Phone), r.ID).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return len(rows), err
}
