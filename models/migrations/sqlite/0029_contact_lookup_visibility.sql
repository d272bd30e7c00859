-- The index that finds a user by phone hash also carries discoverable, so
-- the delta sync (Changed) decides who is visible and sorts them by
-- (profile_at, id) from the index alone, and reads a users row only for the
-- contacts it returns.
DROP INDEX users_phone_hash;
CREATE INDEX users_phone_hash ON users (phone_hash, profile_at, discoverable);
-- Dropping the index dropped its statistics; the other indexes keep theirs,
-- so the start-up ANALYZE would not run, and the planner would guess.
ANALYZE users_phone_hash;
