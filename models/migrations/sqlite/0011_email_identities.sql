-- Email identities are lower-cased (ParseEmail: the local part's ASCII
-- letters too, as lower() does here): one account per mailbox. Stored
-- addresses are folded the same way. Where several accounts fold to one
-- address, nothing is deleted: the account that already has the folded
-- address keeps it, else the oldest one takes it; the others keep their
-- spelling, which no sign-in reaches any more, for an administrator to
-- look at (the dashboard's search finds them). A block on any of them
-- holds for the mailbox: each gets the latest block of its group.
-- Codes, guards and the audit log keep the spelling they were written
-- with; a code asked for under another spelling is asked for again.
--
-- The addresses are copied to a table of their own, indexed by their
-- folded form: grouping them in users would read the whole table once
-- per address.

CREATE TEMP TABLE email_fold (id INTEGER PRIMARY KEY, phone TEXT NOT NULL, folded TEXT NOT NULL, blocked_until INTEGER);
INSERT INTO email_fold SELECT id, phone, lower(phone), blocked_until FROM users WHERE phone LIKE '%@%';
CREATE INDEX temp.email_fold_folded ON email_fold (folded);

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

DROP TABLE temp.email_fold;
