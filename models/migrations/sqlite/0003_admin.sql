-- The administrators' dashboard: admin accounts, their server-side sessions,
-- login throttling, and the indexes the dashboard's lists and searches need
-- on a million users. Times are unix milliseconds.

CREATE TABLE admins (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT    NOT NULL,                 -- bcrypt
    role          TEXT    NOT NULL CHECK (role IN ('owner', 'operator', 'viewer')),
    created_at    INTEGER NOT NULL,
    disabled_at   INTEGER
);

-- The cookie carries a random session id; only its SHA-256 is stored, so a
-- copy of the database does not give working sessions.
CREATE TABLE admin_sessions (
    id           INTEGER PRIMARY KEY,
    id_hash      BLOB    NOT NULL UNIQUE,
    admin_id     INTEGER NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    csrf_token   TEXT    NOT NULL,                 -- synchronizer token of this session
    ip           TEXT    NOT NULL DEFAULT '',
    user_agent   TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,                 -- absolute limit
    revoked_at   INTEGER
);
CREATE INDEX admin_sessions_admin ON admin_sessions (admin_id, revoked_at);

-- Failed admin sign-ins per key ('name:<lower name>' or 'ip:<address>'),
-- in the database so the throttle survives restarts and spans instances.
CREATE TABLE admin_login_throttle (
    key          TEXT    PRIMARY KEY,
    failures     INTEGER NOT NULL DEFAULT 0,
    window_start INTEGER NOT NULL,
    locked_until INTEGER
);

-- User list: name-prefix search (case-insensitive) and keyset pages sorted
-- by last seen. users_created (0001) already serves the sign-up sort: an
-- index ends with the rowid, which is users.id.
CREATE INDEX users_name_nocase ON users (name COLLATE NOCASE);
CREATE INDEX users_last_seen ON users (coalesce(last_seen_at, 0));
CREATE INDEX users_blocked ON users (blocked_until) WHERE blocked_until IS NOT NULL;

-- Audit log filters.
CREATE INDEX audit_actor ON audit_log (actor, at);
CREATE INDEX audit_user ON audit_log (user_id, at);
CREATE INDEX outbox_otp ON outbox (otp_id);

-- Overview: live tokens are counted from this index alone.
CREATE INDEX sessions_live ON sessions (expires_at) WHERE revoked_at IS NULL;
