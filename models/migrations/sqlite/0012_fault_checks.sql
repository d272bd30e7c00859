-- A check value of each generated secret that protects stored data (an
-- HMAC of a fixed label under the key, never the key): a start with a
-- different key than the data was made with is refused instead of silently
-- matching nothing.
CREATE TABLE secret_checks (
    name        TEXT    PRIMARY KEY,
    check_value BLOB    NOT NULL,
    recorded_at INTEGER NOT NULL
);

-- One row that readiness rewrites: a database that cannot write (a full
-- disk) is reported, not only one that cannot read.
CREATE TABLE write_probe (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL
);
INSERT INTO write_probe (id, at) VALUES (1, 0);

-- A profile change is stored at no earlier a time than the latest change
-- stored (a clock stepped back must not hide it from incremental syncs):
-- the latest is read through this index.
CREATE INDEX users_profile_at ON users (profile_at);
