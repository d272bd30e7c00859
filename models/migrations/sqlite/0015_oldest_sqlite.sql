-- The name-search triggers of 0008 without group_concat(... ORDER BY ...),
-- which SQLite parses from 3.44 on: a schema holding it cannot be opened by
-- older SQLite at all, and operators inspect roster.db with their
-- distribution's sqlite3 (Ubuntu 22.04 has 3.37.2;
-- TestOldestSQLiteOpensTheDatabase opens the schema with it). The folded
-- name is the same: group_concat reads a FROM-clause subquery's rows in its
-- ORDER BY, which SQLite keeps under an aggregate other than count, min or
-- max (the delta sync relies on the same; TestOldestSQLiteOpensTheDatabase
-- checks the grams both versions write).

DROP TRIGGER users_name_grams_insert;
DROP TRIGGER users_name_grams_update;
DROP TRIGGER users_name_grams_delete;

CREATE TRIGGER users_name_grams_insert AFTER INSERT ON users WHEN NEW.name <> '' BEGIN
    INSERT OR IGNORE INTO user_name_grams (gram, user_id)
    SELECT substr(f.k, p.i, 3), NEW.id
    FROM (SELECT (SELECT coalesce(group_concat(c.ch, ''), '') FROM (SELECT coalesce(m.folded, lower(substr(NEW.name, p.i, 1))) AS ch FROM name_gram_positions p LEFT JOIN name_fold_map m ON m.ch = substr(NEW.name, p.i, 1) WHERE p.i <= length(NEW.name) ORDER BY p.i) AS c) AS k LIMIT 1) AS f
    JOIN name_gram_positions p ON p.i <= length(f.k) - 2;
END;

CREATE TRIGGER users_name_grams_update AFTER UPDATE OF name ON users WHEN NEW.name IS NOT OLD.name BEGIN
    DELETE FROM user_name_grams WHERE user_id = OLD.id AND gram IN (
        SELECT substr(f.k, p.i, 3)
        FROM (SELECT (SELECT coalesce(group_concat(c.ch, ''), '') FROM (SELECT coalesce(m.folded, lower(substr(OLD.name, p.i, 1))) AS ch FROM name_gram_positions p LEFT JOIN name_fold_map m ON m.ch = substr(OLD.name, p.i, 1) WHERE p.i <= length(OLD.name) ORDER BY p.i) AS c) AS k LIMIT 1) AS f
        JOIN name_gram_positions p ON p.i <= length(f.k) - 2);
    INSERT OR IGNORE INTO user_name_grams (gram, user_id)
    SELECT substr(f.k, p.i, 3), NEW.id
    FROM (SELECT (SELECT coalesce(group_concat(c.ch, ''), '') FROM (SELECT coalesce(m.folded, lower(substr(NEW.name, p.i, 1))) AS ch FROM name_gram_positions p LEFT JOIN name_fold_map m ON m.ch = substr(NEW.name, p.i, 1) WHERE p.i <= length(NEW.name) ORDER BY p.i) AS c) AS k LIMIT 1) AS f
    JOIN name_gram_positions p ON p.i <= length(f.k) - 2;
END;

CREATE TRIGGER users_name_grams_delete AFTER DELETE ON users WHEN OLD.name <> '' BEGIN
    DELETE FROM user_name_grams WHERE user_id = OLD.id AND gram IN (
        SELECT substr(f.k, p.i, 3)
        FROM (SELECT (SELECT coalesce(group_concat(c.ch, ''), '') FROM (SELECT coalesce(m.folded, lower(substr(OLD.name, p.i, 1))) AS ch FROM name_gram_positions p LEFT JOIN name_fold_map m ON m.ch = substr(OLD.name, p.i, 1) WHERE p.i <= length(OLD.name) ORDER BY p.i) AS c) AS k LIMIT 1) AS f
        JOIN name_gram_positions p ON p.i <= length(f.k) - 2);
END;
