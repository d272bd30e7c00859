package models

// The admin dashboard reads through Dashboard, one file per page
// (dashboard_<page>.go, the same stem as handlers/admin_<page>.go; the
// admins page's queries are admin_admins.go), and changes users through
// UserActions (dashboard_user_actions.go).

// BlockedForever is blocked_until for "blocked until unblocked": 9999-12-31.
const BlockedForever int64 = 253402300799000

// Dashboard is the read model of the admin dashboard: every query behind
// its pages. It changes nothing; the contact-sync sections beside it
// (ContactSyncReader) first write the sync records still queued.
type Dashboard struct {
	db         *DB
	clock      Clock
	scanBudget int
}

// NewDashboard returns the dashboard's queries.
func NewDashboard(db *DB, clock Clock) *Dashboard {
	return &Dashboard{db: db, clock: clock, scanBudget: defaultScanBudget}
}

// indexedBy is a table ("table" or "table alias") with SQLite's index
// hint, for the walks where SQLite could pick another index and scan.
// PostgreSQL has no hints; its planner picks the (key, id) indexes for
// these walks.
func (d *DB) indexedBy(table, index string) string {
	return d.SQL(table+" INDEXED BY "+index, table)
}
