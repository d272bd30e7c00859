-- The user list's "last seen" order as a column: an index on the expression
-- coalesce(last_seen_at, 0) serves its ranges but not "this value and an id
-- below n" (SQLite uses the trailing rowid only for column indexes), so the
-- page after a cursor among the many users sharing a value (never seen: 0)
-- scanned the index from its start. A virtual column costs no storage.
ALTER TABLE users ADD COLUMN seen_key INTEGER GENERATED ALWAYS AS (coalesce(last_seen_at, 0)) VIRTUAL;
CREATE INDEX users_seen_key ON users (seen_key);
DROP INDEX users_last_seen;
