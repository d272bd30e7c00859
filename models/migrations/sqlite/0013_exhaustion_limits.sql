-- Refused events (code requests over a quota, throttled dashboard
-- sign-ins) and test-number code requests repeated from one network within
-- an hour are counted on the hour's first row instead of each adding one:
-- repeats is NULL on a row that stands for one event, else how many more
-- came, the last at last_at. Only those two columns may change.
ALTER TABLE audit_log ADD COLUMN repeats INTEGER;
ALTER TABLE audit_log ADD COLUMN last_at INTEGER;
CREATE INDEX audit_repeats ON audit_log (type, ip, at) WHERE repeats IS NOT NULL;
DROP TRIGGER audit_log_no_update;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OF id, at, actor, type, phone, user_id, ip, user_agent, detail ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- The log is pruned after --audit-retention (at least 30 days): entries
-- within 30 days of the latest still cannot be deleted (measured on the
-- log's own times, which come from the server's clock).
DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN old.at > (SELECT max(at) FROM audit_log) - 30 * 86400000
BEGIN SELECT RAISE(ABORT, 'audit_log entries are kept 30 days at least'); END;

-- Dashboard sign-in forms already posted (SHA-256 of their token): a form
-- is good for one try. Kept as long as a form is valid, then pruned.
CREATE TABLE admin_login_forms (
    token_hash BLOB    PRIMARY KEY,
    used_at    INTEGER NOT NULL
);
CREATE INDEX admin_login_forms_used ON admin_login_forms (used_at);

-- Token bucket of address-book rows a user's uploads may still write or
-- delete (--contacts-writes-per-day).
CREATE TABLE contact_write_budget (
    user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    tokens     REAL    NOT NULL,
    updated_at INTEGER NOT NULL
);
