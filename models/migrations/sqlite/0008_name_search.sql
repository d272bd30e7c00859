-- Name search by substring, ignoring case and accents: every three-character
-- piece ("gram") of each user's folded name (models/name_search.go: each
-- character through name_fold_map, else lower(); TestNameFoldSQLMatchesGo
-- checks that SQL folds as FoldName does). Triggers keep it as names change.
-- name_gram_positions is 1..130 (models.MaxNameLen, 64, doubled: "ß" folds
-- to "ss"): triggers cannot use a recursive CTE to count, so they join this
-- table instead.

CREATE TABLE name_gram_positions (i INTEGER PRIMARY KEY);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 130)
INSERT INTO name_gram_positions (i) SELECT i FROM n;

-- Letters that lower() leaves alone, with their plain lower-case form.
CREATE TABLE name_fold_map (ch TEXT PRIMARY KEY, folded TEXT NOT NULL) WITHOUT ROWID;
INSERT INTO name_fold_map (ch, folded) VALUES
    ('à', 'a'), ('á', 'a'), ('â', 'a'), ('ã', 'a'), ('ä', 'a'), ('å', 'a'), ('ā', 'a'), ('ă', 'a'), ('ą', 'a'), ('À', 'a'),
    ('Á', 'a'), ('Â', 'a'), ('Ã', 'a'), ('Ä', 'a'), ('Å', 'a'), ('Ā', 'a'), ('Ă', 'a'), ('Ą', 'a'), ('æ', 'ae'), ('Æ', 'ae'),
    ('ç', 'c'), ('ć', 'c'), ('č', 'c'), ('ĉ', 'c'), ('ċ', 'c'), ('Ç', 'c'), ('Ć', 'c'), ('Č', 'c'), ('Ĉ', 'c'), ('Ċ', 'c'),
    ('ď', 'd'), ('đ', 'd'), ('Ď', 'd'), ('Đ', 'd'), ('è', 'e'), ('é', 'e'), ('ê', 'e'), ('ë', 'e'), ('ē', 'e'), ('ĕ', 'e'),
    ('ė', 'e'), ('ę', 'e'), ('ě', 'e'), ('È', 'e'), ('É', 'e'), ('Ê', 'e'), ('Ë', 'e'), ('Ē', 'e'), ('Ĕ', 'e'), ('Ė', 'e'),
    ('Ę', 'e'), ('Ě', 'e'), ('ğ', 'g'), ('ĝ', 'g'), ('ġ', 'g'), ('ģ', 'g'), ('Ğ', 'g'), ('Ĝ', 'g'), ('Ġ', 'g'), ('Ģ', 'g'),
    ('ĥ', 'h'), ('ħ', 'h'), ('Ĥ', 'h'), ('Ħ', 'h'), ('ì', 'i'), ('í', 'i'), ('î', 'i'), ('ï', 'i'), ('ī', 'i'), ('ĭ', 'i'),
    ('į', 'i'), ('ı', 'i'), ('Ì', 'i'), ('Í', 'i'), ('Î', 'i'), ('Ï', 'i'), ('Ī', 'i'), ('Ĭ', 'i'), ('Į', 'i'), ('İ', 'i'),
    ('ĵ', 'j'), ('Ĵ', 'j'), ('ķ', 'k'), ('Ķ', 'k'), ('ĺ', 'l'), ('ļ', 'l'), ('ľ', 'l'), ('ŀ', 'l'), ('ł', 'l'), ('Ĺ', 'l'),
    ('Ļ', 'l'), ('Ľ', 'l'), ('Ŀ', 'l'), ('Ł', 'l'), ('ñ', 'n'), ('ń', 'n'), ('ņ', 'n'), ('ň', 'n'), ('Ñ', 'n'), ('Ń', 'n'),
    ('Ņ', 'n'), ('Ň', 'n'), ('ò', 'o'), ('ó', 'o'), ('ô', 'o'), ('õ', 'o'), ('ö', 'o'), ('ø', 'o'), ('ō', 'o'), ('ŏ', 'o'),
    ('ő', 'o'), ('Ò', 'o'), ('Ó', 'o'), ('Ô', 'o'), ('Õ', 'o'), ('Ö', 'o'), ('Ø', 'o'), ('Ō', 'o'), ('Ŏ', 'o'), ('Ő', 'o'),
    ('œ', 'oe'), ('Œ', 'oe'), ('ŕ', 'r'), ('ŗ', 'r'), ('ř', 'r'), ('Ŕ', 'r'), ('Ŗ', 'r'), ('Ř', 'r'), ('ś', 's'), ('ŝ', 's'),
    ('ş', 's'), ('š', 's'), ('ș', 's'), ('Ś', 's'), ('Ŝ', 's'), ('Ş', 's'), ('Š', 's'), ('Ș', 's'), ('ß', 'ss'), ('ţ', 't'),
    ('ť', 't'), ('ŧ', 't'), ('ț', 't'), ('Ţ', 't'), ('Ť', 't'), ('Ŧ', 't'), ('Ț', 't'), ('ù', 'u'), ('ú', 'u'), ('û', 'u'),
    ('ü', 'u'), ('ū', 'u'), ('ŭ', 'u'), ('ů', 'u'), ('ű', 'u'), ('ų', 'u'), ('Ù', 'u'), ('Ú', 'u'), ('Û', 'u'), ('Ü', 'u'),
    ('Ū', 'u'), ('Ŭ', 'u'), ('Ů', 'u'), ('Ű', 'u'), ('Ų', 'u'), ('ŵ', 'w'), ('Ŵ', 'w'), ('ý', 'y'), ('ÿ', 'y'), ('ŷ', 'y'),
    ('Ý', 'y'), ('Ÿ', 'y'), ('Ŷ', 'y'), ('ź', 'z'), ('ż', 'z'), ('ž', 'z'), ('Ź', 'z'), ('Ż', 'z'), ('Ž', 'z'), ('Α', 'α'),
    ('Β', 'β'), ('Γ', 'γ'), ('Δ', 'δ'), ('Ε', 'ε'), ('Ζ', 'ζ'), ('Η', 'η'), ('Θ', 'θ'), ('Ι', 'ι'), ('Κ', 'κ'), ('Λ', 'λ'),
    ('Μ', 'μ'), ('Ν', 'ν'), ('Ξ', 'ξ'), ('Ο', 'ο'), ('Π', 'π'), ('Ρ', 'ρ'), ('Σ', 'σ'), ('Τ', 'τ'), ('Υ', 'υ'), ('Φ', 'φ'),
    ('Χ', 'χ'), ('Ψ', 'ψ'), ('Ω', 'ω'), ('А', 'а'), ('Б', 'б'), ('В', 'в'), ('Г', 'г'), ('Д', 'д'), ('Е', 'е'), ('Ж', 'ж'),
    ('З', 'з'), ('И', 'и'), ('Й', 'й'), ('К', 'к'), ('Л', 'л'), ('М', 'м'), ('Н', 'н'), ('О', 'о'), ('П', 'п'), ('Р', 'р'),
    ('С', 'с'), ('Т', 'т'), ('У', 'у'), ('Ф', 'ф'), ('Х', 'х'), ('Ц', 'ц'), ('Ч', 'ч'), ('Ш', 'ш'), ('Щ', 'щ'), ('Ъ', 'ъ'),
    ('Ы', 'ы'), ('Ь', 'ь'), ('Э', 'э'), ('Ю', 'ю'), ('Я', 'я'), ('Ё', 'е'), ('ё', 'е');

CREATE TABLE user_name_grams (
    gram    TEXT    NOT NULL,
    user_id INTEGER NOT NULL,
    PRIMARY KEY (gram, user_id)
) WITHOUT ROWID;

-- The folded name is computed once per row (a subquery with LIMIT is not
-- flattened into the join), not once per position. The backfill at the end
-- does the same for the users already there.
CREATE TRIGGER users_name_grams_insert AFTER INSERT ON users WHEN NEW.name <> '' BEGIN
    INSERT OR IGNORE INTO user_name_grams (gram, user_id)
    SELECT substr(f.k, p.i, 3), NEW.id
    FROM (SELECT (SELECT coalesce(group_concat(coalesce(m.folded, lower(substr(NEW.name, p.i, 1))), '' ORDER BY p.i), '') FROM name_gram_positions p LEFT JOIN name_fold_map m ON m.ch = substr(NEW.name, p.i, 1) WHERE p.i <= length(NEW.name)) AS k LIMIT 1) AS f
    JOIN name_gram_positions p ON p.i <= length(f.k) - 2;
END;

CREATE TRIGGER users_name_grams_update AFTER UPDATE OF name ON users WHEN NEW.name IS NOT OLD.name BEGIN
    DELETE FROM user_name_grams WHERE user_id = OLD.id AND gram IN (
        SELECT substr(f.k, p.i, 3)
        FROM (SELECT (SELECT coalesce(group_concat(coalesce(m.folded, lower(substr(OLD.name, p.i, 1))), '' ORDER BY p.i), '') FROM name_gram_positions p LEFT JOIN name_fold_map m ON m.ch = substr(OLD.name, p.i, 1) WHERE p.i <= length(OLD.name)) AS k LIMIT 1) AS f
        JOIN name_gram_positions p ON p.i <= length(f.k) - 2);
    INSERT OR IGNORE INTO user_name_grams (gram, user_id)
    SELECT substr(f.k, p.i, 3), NEW.id
    FROM (SELECT (SELECT coalesce(group_concat(coalesce(m.folded, lower(substr(NEW.name, p.i, 1))), '' ORDER BY p.i), '') FROM name_gram_positions p LEFT JOIN name_fold_map m ON m.ch = substr(NEW.name, p.i, 1) WHERE p.i <= length(NEW.name)) AS k LIMIT 1) AS f
    JOIN name_gram_positions p ON p.i <= length(f.k) - 2;
END;

CREATE TRIGGER users_name_grams_delete AFTER DELETE ON users WHEN OLD.name <> '' BEGIN
    DELETE FROM user_name_grams WHERE user_id = OLD.id AND gram IN (
        SELECT substr(f.k, p.i, 3)
        FROM (SELECT (SELECT coalesce(group_concat(coalesce(m.folded, lower(substr(OLD.name, p.i, 1))), '' ORDER BY p.i), '') FROM name_gram_positions p LEFT JOIN name_fold_map m ON m.ch = substr(OLD.name, p.i, 1) WHERE p.i <= length(OLD.name)) AS k LIMIT 1) AS f
        JOIN name_gram_positions p ON p.i <= length(f.k) - 2);
END;

-- The users already there.
INSERT OR IGNORE INTO user_name_grams (gram, user_id)
SELECT substr(f.k, p.i, 3), f.id
FROM (SELECT id, (SELECT coalesce(group_concat(coalesce(m.folded, lower(substr(name, p.i, 1))), '' ORDER BY p.i), '') FROM name_gram_positions p LEFT JOIN name_fold_map m ON m.ch = substr(name, p.i, 1) WHERE p.i <= length(name)) AS k FROM users WHERE name <> '' LIMIT -1) AS f
JOIN name_gram_positions p ON p.i <= length(f.k) - 2;
