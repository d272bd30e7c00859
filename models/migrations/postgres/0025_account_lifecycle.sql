-- Deletion with a grace period (--deletion-grace): an account its user
-- asked to delete is kept until delete_after (unix milliseconds), signed
-- out and found by no address book (phone_hash NULL), and deleted then by
-- the pending-deletions chore; signing in again clears it. NULL: not
-- pending. The partial index is the chore's queue and the dashboard's
-- filter.
ALTER TABLE users ADD COLUMN delete_after BIGINT;
CREATE INDEX users_delete_after ON users (delete_after) WHERE delete_after IS NOT NULL;
