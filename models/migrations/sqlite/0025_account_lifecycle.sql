-- Deletion with a grace period (--deletion-grace): an account its user
-- asked to delete is kept until delete_after (unix milliseconds), signed
-- out and found by no address book (phone_hash NULL), and deleted then by
-- the pending-deletions chore; signing in again clears it. NULL: not
-- pending. The partial index is the chore's queue and the dashboard's
-- filter.
ALTER TABLE users ADD COLUMN delete_after INTEGER;
CREATE INDEX users_delete_after ON users (delete_after) WHERE delete_after IS NOT NULL;

-- Export links (exportaccount): a random token, kept only as its SHA-256,
-- valid until expires_at (unix milliseconds) and served once: the row is
-- deleted as its document is served, and a new link replaces the user's
-- older one. Rows go with their user.
CREATE TABLE account_exports (
    token_hash BLOB    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX account_exports_user ON account_exports (user_id);

-- The country a session signed in from, if known (ISO 3166-1 alpha-2, from
-- a trusted proxy's country header or --geoip-db; '' when not known).
ALTER TABLE sessions ADD COLUMN country TEXT NOT NULL DEFAULT '';
