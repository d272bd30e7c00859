-- Nothing to change: sqlite/0015_oldest_sqlite.sql rewrites SQLite's
-- name-search triggers for older SQLite; PostgreSQL's call name_fold
-- (0008). The file keeps the versions of both folders the same.
SELECT 1;
