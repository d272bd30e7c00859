-- Every stored upload, so that a user's uploads can be capped per day and
-- their files removed with the account. Times are unix milliseconds.
CREATE TABLE uploads (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,                 -- file name in DATA-DIR/files
    profile    INTEGER NOT NULL DEFAULT 0,       -- 1: a profile photo
    created_at INTEGER NOT NULL
);
CREATE INDEX uploads_user ON uploads (user_id, created_at);
