-- Email identities folded to lower case, as sqlite/0011_email_identities.sql
-- (lower() on the identity column, COLLATE "C", changes ASCII letters only,
-- like SQLite's and ParseEmail's).

CREATE TEMP TABLE email_fold ON COMMIT DROP AS
    SELECT id, phone, lower(phone) AS folded, blocked_until FROM users WHERE phone LIKE '%@%';
CREATE INDEX ON email_fold (folded);

UPDATE users SET blocked_until = (
    SELECT MAX(o.blocked_until) FROM email_fold f JOIN email_fold o ON o.folded = f.folded WHERE f.id = users.id)
WHERE id IN (
    SELECT f.id FROM email_fold f JOIN email_fold o ON o.folded = f.folded AND o.id <> f.id
    WHERE o.blocked_until IS NOT NULL AND (f.blocked_until IS NULL OR o.blocked_until > f.blocked_until));

UPDATE users SET phone = lower(phone)
WHERE id IN (
    SELECT f.id FROM email_fold f
    WHERE f.phone <> f.folded AND NOT EXISTS (
        SELECT 1 FROM email_fold o
        WHERE o.folded = f.folded AND o.id <> f.id AND (o.phone = o.folded OR o.id < f.id)));
