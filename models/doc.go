// Package models owns Roster's data and its domain rules: every table, every
// statement and every rule about who may do what when. It knows nothing of
// HTTP; handlers translate requests into calls of its services, and web
// assembles those services over one DB.
//
// The package is flat on purpose: its services share transaction helpers
// (locks, audit entries, change times) that would have to be exported, and
// would import each other, if each were a package. Files are grouped by the
// prefix of their name, the same stem as the handlers, views and tests of
// the page or op group they serve:
//
//	db_*        the store: the two SQLite pools and the writer goroutine
//	            (db_writer.go), PostgreSQL (db_postgres.go), the file and
//	            write health, statement logging, the writer's compiled
//	            statements (db_stmtcache.go); migrate.go and migrations/
//	            for the schema, locks.go for the lock order of rules that
//	            read and then write
//	signin_*    one-time codes: requests, the guards and quotas, verifying,
//	            issuing sessions (signin_issuer.go), app ids; changephone
//	            moves an account to a number proven the same way
//	recycle     a number proven after its account's long absence: the
//	            account is detached from it (kept, "number lost")
//	session*    access tokens, their checks, revocation (by the app and by
//	            an administrator), push settings, the sign-in's country
//	own_sessions
//	            a user's own devices: the list and the ends they ask for
//	account*, user_delete
//	            a user's account as a whole: its deletion (deleteUserTx, the
//	            one place a user is deleted, by an administrator too), the
//	            grace period before it and its cancellation (account_grace),
//	            and the export of its data, served once from a short-lived
//	            link (account_export_link)
//	user        the users table's row and its lookups
//	contacts_*  address books: uploads, the delta sync, deletions, the
//	            per-user allowance and the sync records the dashboard shows
//	profile, photos*, uploads, files*
//	            profiles, profile photos (decoding under a budget) and the
//	            file store (a directory or S3)
//	groups*     the group ops: roles, limits and member changes
//	            (groups_ops.go, groups_members.go), their notices through
//	            the events (groups_notices.go), the delta sync, members who
//	            are not users yet (groups_invites.go), the hand-over of a
//	            deleted owner's groups (groups_owner.go), mesibo jobs
//	events_*    "your contact joined" and "profile changed" notices: the
//	            fan-out and the bus between instances on PostgreSQL (the
//	            in-process hub of live streams is models/eventhub)
//	outbox*, delivery_policy, mesibo_jobs
//	            messages to send (codes, mesibo calls) and their attempts
//	push*       push notifications: which device gets one (push.go), the
//	            push jobs' claims and outcomes with the token rules
//	            (push_jobs.go), the live streams of every instance
//	            (push_presence.go)
//	admin*      dashboard accounts, their sign-in (two-factor too) and sessions
//	dashboard_* the dashboard's read model (one file per page) and its user
//	            actions
//	audit       the append-only audit log's entries, every one built by
//	            auditEntry (apiEntry and adminEntry name the actor)
//	phone*, email, text, name_search
//	            parsing and normalizing what people type; phonehash keys
//	            the address books' stored numbers
//	clock, prune, secret_check
//	            time (a fake clock in tests), retention, key check values
//
// Tools beside the domain, which use only its exported API, are packages
// of their own under models/: dbcopy (roster backup and roster copy, the
// SQLite to PostgreSQL move), eventhub (the live streams of this process),
// seed (roster seed's generated deployments), and pgtest and s3test for
// the tests.
package models
