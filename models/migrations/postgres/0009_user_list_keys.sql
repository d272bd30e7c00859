-- The user list's "last seen" order as a column, as
-- sqlite/0009_user_list_keys.sql. PostgreSQL 15 has stored generated columns
-- only (8 bytes a row); the index ends with id as SQLite's does implicitly.
ALTER TABLE users ADD COLUMN seen_key BIGINT GENERATED ALWAYS AS (coalesce(last_seen_at, 0)) STORED;
CREATE INDEX users_seen_key ON users (seen_key, id);
DROP INDEX users_last_seen;
