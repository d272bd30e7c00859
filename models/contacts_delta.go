package models

import (
	"context"
	"database/sql"
	"time"
)

// The delta sync: getcontacts without numbers, the contacts whose profile
// changed since the client's last sync.

// Changed returns the caller's contacts who are users visible to the caller
// and whose profile changed in or after the second sinceSec (all of them
// when sinceSec is 0), oldest change first. The boundary second is included:
// a client that saw a change at second T may not have seen another change in
// that same second, and sending a contact twice is harmless, losing one is not.
// It only reads: it runs on the read pool and its record is written later.
// The reply's array is appended to dst, as in Upload.
func (c *Contacts) Changed(ctx context.Context, caller *User, sinceSec int64, dst []byte) (ContactList, error) {
	start := time.Now()
	since := int64(0)
	if sinceSec > 0 {
		since = sinceSec * 1000
	}
	rec := ContactSync{UserID: caller.ID, At: toMillis(c.clock.Now()), Kind: SyncIncremental}
	query := changedQuery(c.db)
	args := []any{caller.ID, since, caller.ID, c.norm.hash(c.hasher, caller.Phone)}
	var users ContactList
	err := c.onReader(ctx, func(conn *sql.Conn, qctx context.Context) error {
		var err error
		users, err = queryList(qctx, conn, dst, query, args...)
		return err
	})
	if err != nil {
		return ContactList{}, err
	}
	rec.Matched = users.N
	c.later(&rec, start)
	return users, nil
}

// changedQuery is Changed's statement: $1 the caller's id, $2 the first
// millisecond wanted, $3 and $4 the caller's id and phone hash (visibleTo).
func changedQuery(db *DB) string {
	// The subquery's ORDER BY decides the order of group_concat: SQLite
	// keeps a FROM-clause subquery's ORDER BY when the outer query uses an
	// aggregate other than count, min or max (select.c), and the aggregate
	// reads the subquery's rows in that order: CROSS JOIN makes the subquery
	// the outer loop. TestIncrementalSyncSameSecond checks the order. The
	// subquery decides and sorts from the index users_phone_hash alone (it
	// carries profile_at and discoverable; id is its rowid) and sorts only
	// those small rows; each contact's entry is read after the sort, one row
	// by id: sorting the entries themselves, about 350 bytes each, took a
	// third of the query's time. The CAST hands the reply to the driver as a
	// BLOB, which database/sql passes to a RawBytes without another copy.
	// PostgreSQL does not promise a subquery's order to an aggregate: there
	// the aggregate sorts.
	matched := `address_book b JOIN users u ON u.phone_hash = b.contact_hash
		WHERE b.owner_id = $1 AND u.profile_at >= $2 AND ` + visibleTo("$3", "$4")
	return db.SQL(`SELECT COUNT(*), CAST(group_concat(e.contact_json, ',') AS BLOB) FROM (
			SELECT u.id FROM `+matched+` ORDER BY u.profile_at, u.id) s CROSS JOIN users e ON e.id = s.id`,
		`SELECT COUNT(*), string_agg(u.contact_json, ',' ORDER BY u.profile_at, u.id) FROM `+matched)
}
