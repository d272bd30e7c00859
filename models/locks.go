package models

import (
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Keyed locks for the rules that look at rows and then write: the tries of
// a phone's code, its quotas, the quota of a network, the service's SMS
// cap. SQLite has one writer, which keeps them by itself; on PostgreSQL
// write transactions run side by side, on this instance and on others, and
// each such rule first takes a transaction-level advisory lock on its key
// (released at commit or rollback). An advisory lock needs no row to exist:
// the first code request of a number has nothing yet to lock with FOR
// UPDATE, and a count over a sliding window has no row to hold at all.
//
// Keys are hashed to 32 bits (hashtext): two keys that collide only wait
// for each other. Transactions take them in the order of the classes
// below, so two of them never wait for each other in a circle.

// lockClass is the first half of an advisory lock's key: what kind of key
// the second half hashes. PostgreSQL keeps two-part keys apart from the
// one-part keys of migrations and chores (migrationLockKey, ChorePrune).
type lockClass int32

const (
	lockPhone     lockClass = 1 // a phone number's codes, guard and first sign-in
	lockDemoGuard lockClass = 2 // the server-wide guard of demo-code mode
	lockNetwork   lockClass = 3 // a network's code-request quotas (NetworkKey)
	lockSMSCap    lockClass = 4 // the hourly SMS cap of the whole service
)

// lockKey waits for and takes the lock on class and key until the end of
// tx. On SQLite it does nothing: the writer already runs one transaction at
// a time.
func lockKey(tx *gorm.DB, class lockClass, key string) error {
	if tx.Dialector.Name() != "postgres" {
		return nil
	}
	return tx.Exec("SELECT pg_advisory_xact_lock(?, hashtext(?))", int32(class), key).Error
}

// skipLocked is the clause that claims jobs on PostgreSQL: the rows selected
// are locked until commit, and rows another transaction has locked are
// passed over rather than waited for (then claimed twice). SQLite's single
// writer claims one batch at a time and needs none.
func (d *DB) skipLocked() []clause.Expression {
	if d.dialect != dialectPostgres {
		return nil
	}
	return []clause.Expression{clause.Locking{Strength: clause.LockingStrengthUpdate, Options: clause.LockingOptionsSkipLocked}}
}
