package models

import (
	"slices"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Locks for the rules that look at rows and then write. SQLite has one
// writer, which keeps every such rule by itself; on PostgreSQL write
// transactions run side by side, on this instance and on others
// (writePostgres), and each rule takes a lock first, held until commit or
// rollback:
//
//   - a keyed advisory lock for what has no row to lock: the tries of a
//     phone's code and its first sign-in (the first code request of a
//     number has nothing yet to lock with FOR UPDATE), the quota of a
//     network, the service's SMS cap (a count over a sliding window), the
//     fraud guard's prefixes, countries and budget;
//   - the user's row (lockUser, lockedUserByID) for a user's own changes: a
//     block, a deletion, the uploads cap, a profile, a new session;
//   - the owners' rows for address books (lockUsers of their owners);
//   - a group's row (lockedGroup) for every change of the group, after the
//     rows of the users it adds (their count of groups) or deletes.
//
// Order, so that no two transactions wait for each other in a circle: keyed
// locks before rows (but lockEventOrder, see there), keyed locks in the order of their classes, users' rows
// in the order of their ids, a user's row before its sessions' rows, users'
// rows before groups' rows, groups' rows in the order of their ids.
//
// Keys are hashed to 32 bits (hashtext): two keys that collide only wait
// for each other.

// lockClass is the first half of an advisory lock's key: what kind of key
// the second half hashes. PostgreSQL keeps two-part keys apart from the
// one-part keys of migrations and chores (migrationLockKey, ChorePrune).
type lockClass int32

const (
	lockPhone     lockClass = 1 // a phone number's codes, guard and first sign-in
	lockDemoGuard lockClass = 2 // the server-wide guard of demo-code mode
	lockNetwork   lockClass = 3 // a network's code-request quotas (NetworkKey)
	lockSMSCap    lockClass = 4 // the hourly SMS cap of the whole service
	// lockEventOrder numbers events in commit order (Events.record): a
	// stream reads its deliveries by event id, so an id must never commit
	// after a larger one. It is the one keyed lock taken after rows (the
	// event's subject is written first), held to commit by transactions
	// that then lock no other user's row. A change of a group takes it
	// before writing its member rows (recordGroupNotices), holding the
	// group's row already: the foreign-key checks of those rows take key
	// share locks on members' rows, which wait only for a deletion of the
	// member, and a deletion locks the member's groups first.
	lockEventOrder lockClass = 5
	// lockFanout: one fan-out worker at a time, oldest event first, so a
	// user's deliveries come in event order (Events.RunOnce).
	lockFanout lockClass = 6
	// lockPushToken: a push token's owner (Sessions.SetPush), so that of
	// two sessions setting one token at once the last keeps it.
	lockPushToken lockClass = 7
	// The fraud guard's counts (signin_fraud.go): the codes of a number
	// prefix, of a country (its limits, its conversion watch, its release)
	// and the day's budget.
	lockFraudPrefix  lockClass = 8
	lockFraudCountry lockClass = 9
	lockFraudBudget  lockClass = 10
)

// lockKey waits for and takes the lock on class and key until the end of
// tx. On SQLite it does nothing: the writer already runs one transaction at
// a time.
func lockKey(tx *gorm.DB, class lockClass, key string) error {
	if !onPostgres(tx) {
		return nil
	}
	return tx.Exec("SELECT pg_advisory_xact_lock(?, hashtext(?))", int32(class), key).Error
}

// tryLockKey is lockKey without waiting: it reports whether the lock was
// free (and is now held until the end of tx). SQLite: always true.
func tryLockKey(tx *gorm.DB, class lockClass, key string) (bool, error) {
	if !onPostgres(tx) {
		return true, nil
	}
	var got bool
	err := tx.Raw("SELECT pg_try_advisory_xact_lock(?, hashtext(?))", int32(class), key).Scan(&got).Error
	return got, err
}

// claiming adds to the query q the clause that claims jobs on PostgreSQL
// (queued messages): the rows it selects stay locked until
// commit, and rows another transaction holds are skipped, not waited for,
// so two workers never take the same job. NO KEY UPDATE: a claim changes a
// job's state, not its key, so rows referring to the job (a delivery
// attempt) are not held up. SQLite's single writer claims one batch at a
// time and needs none.
func claiming(q *gorm.DB) *gorm.DB {
	if !onPostgres(q) {
		return q
	}
	return q.Clauses(clause.Locking{Strength: "NO KEY UPDATE", Options: clause.LockingOptionsSkipLocked})
}

// Row locks of a user, on PostgreSQL, where write transactions run side by
// side (SQLite's single writer runs them one at a time and needs none).
// Every change that reads a user and writes what follows from it (a block,
// a deletion, the uploads cap, a profile, a new session) locks the user's
// row first, so that changes of one user take turns; the user's row is
// always locked before its sessions' rows, so they cannot deadlock.
const (
	// lockUserRow: the user is changed, not deleted. It does not wait for
	// (nor hold up) inserts of rows that only reference the user.
	lockUserRow = "NO KEY UPDATE"
	// lockUserDelete: the user is deleted. It also waits for transactions
	// that insert rows referencing the user (sessions, uploads), and makes
	// those that come after fail: nothing is left behind, nothing revives.
	lockUserDelete = "UPDATE"
)

// onPostgres reports whether tx is a PostgreSQL transaction.
func onPostgres(tx *gorm.DB) bool { return tx.Dialector.Name() == "postgres" }

// lockedUserByID reads the user with this id, its row locked (strength
// lockUserRow or lockUserDelete) on PostgreSQL (ErrNotFound: none).
func lockedUserByID(tx *gorm.DB, id int64, strength string) (*User, error) {
	return lockedUser(tx, strength, "id = ?", id)
}

// lockedUser reads the user that where matches, locking the row on
// PostgreSQL (ErrNotFound: none).
func lockedUser(tx *gorm.DB, strength string, where string, args ...any) (*User, error) {
	if onPostgres(tx) {
		tx = tx.Clauses(clause.Locking{Strength: strength})
	}
	return userWhere(tx, where, args...)
}

// lockUser locks the user's row on PostgreSQL (ErrNotFound if the user is
// gone) and does nothing on SQLite, where the caller's statements run as
// they always did. Deletions read the user with lockedUserByID instead.
func lockUser(tx *gorm.DB, id int64) error {
	n, err := lockUsers(tx, id)
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return err
}

// lockUsers locks, on PostgreSQL, the rows of these users in the order of
// their ids (so that two transactions locking several never wait for each
// other in a circle) until the transaction ends, and returns how many
// exist; SQLite's single writer needs no lock, and all are reported there.
//
// Every write of an address book and of what is kept about it (the
// allowance, the reset memory, the digests of lists, the sync records'
// digests) locks its owner first: writes of one book take turns across
// instances. FOR NO KEY UPDATE, not FOR UPDATE: rows that refer to the
// user (sessions, events, the book itself) take KEY SHARE, which it does
// not hold up.
func lockUsers(tx *gorm.DB, ids ...int64) (int, error) {
	if !onPostgres(tx) {
		return len(ids), nil
	}
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	n := 0
	// In ascending slices, each under PostgreSQL's cap on parameters.
	for _, part := range chunks(sorted, 10_000) {
		var locked []int64
		if err := tx.Raw("SELECT id FROM users WHERE id = ANY(?) ORDER BY id FOR "+lockUserRow, pgArray[int64](part)).Scan(&locked).Error; err != nil {
			return n, err
		}
		n += len(locked)
	}
	return n, nil
}
