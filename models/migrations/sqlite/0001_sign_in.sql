-- Sign-in: users, their device sessions, one-time codes, the per-phone guard,
-- the delivery outbox and the audit log. Times are unix milliseconds.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    phone         TEXT    NOT NULL UNIQUE,          -- E.164, with '+'
    country_code  INTEGER NOT NULL,
    name          TEXT    NOT NULL DEFAULT '',
    status        TEXT    NOT NULL DEFAULT '',
    photo         TEXT    NOT NULL DEFAULT '',      -- file name under the download URL
    thumbnail     TEXT    NOT NULL DEFAULT '',      -- base64 JPEG, the protocol's `tn`
    discoverable  TEXT    NOT NULL DEFAULT 'everyone' CHECK (discoverable IN ('everyone', 'contacts', 'nobody')),
    announce      INTEGER NOT NULL DEFAULT 1,
    blocked_until INTEGER,                          -- NULL: not blocked
    created_at    INTEGER NOT NULL,
    profile_at    INTEGER NOT NULL,                 -- last profile change: the protocol's contact `ts`
    last_seen_at  INTEGER
);
CREATE INDEX users_created ON users (created_at);

CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash    BLOB    NOT NULL UNIQUE,          -- SHA-256 of the token; the token itself is never stored
    device        TEXT    NOT NULL DEFAULT '',
    device_type   TEXT    NOT NULL DEFAULT '',      -- the protocol's `dt`
    app_id        TEXT    NOT NULL DEFAULT '',
    ip            TEXT    NOT NULL DEFAULT '',
    user_agent    TEXT    NOT NULL DEFAULT '',
    notify_token  TEXT    NOT NULL DEFAULT '',
    fcm_id        TEXT    NOT NULL DEFAULT '',
    notify_prod   INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    revoke_reason TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id, revoked_at);

CREATE TABLE otp_codes (
    id          INTEGER PRIMARY KEY,
    phone       TEXT    NOT NULL,
    code_mac    BLOB    NOT NULL,                   -- HMAC-SHA256(key, phone ":" code)
    state       TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'verified', 'superseded', 'expired', 'exhausted')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    ip          TEXT    NOT NULL DEFAULT '',
    user_agent  TEXT    NOT NULL DEFAULT '',
    app_id      TEXT    NOT NULL DEFAULT '',
    channel     TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    verified_at INTEGER
);
CREATE INDEX otp_codes_phone ON otp_codes (phone, created_at);
CREATE INDEX otp_codes_ip ON otp_codes (ip, created_at);
CREATE INDEX otp_codes_created ON otp_codes (created_at);

-- Per-phone state that outlives any one code: consecutive failures survive a
-- resend, and the lock.
CREATE TABLE phone_guards (
    phone        TEXT    PRIMARY KEY,
    failures     INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER,
    updated_at   INTEGER NOT NULL
);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    channel         TEXT    NOT NULL,
    recipient       TEXT    NOT NULL,
    body            TEXT    NOT NULL,               -- cleared once a real channel has sent it
    otp_id          INTEGER REFERENCES otp_codes (id) ON DELETE SET NULL,
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    sent_at         INTEGER
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_created ON outbox (created_at);

-- Append-only record of auth events and (later) admin actions.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    actor      TEXT    NOT NULL,                    -- 'api', 'system', 'admin:<name>'
    type       TEXT    NOT NULL,
    phone      TEXT    NOT NULL DEFAULT '',
    user_id    INTEGER,
    ip         TEXT    NOT NULL DEFAULT '',
    user_agent TEXT    NOT NULL DEFAULT '',
    detail     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_at ON audit_log (at);
CREATE INDEX audit_phone ON audit_log (phone, at);
CREATE INDEX audit_type ON audit_log (type, at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
