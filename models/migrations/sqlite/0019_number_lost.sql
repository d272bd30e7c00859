-- Recycled numbers: an account whose number someone else proved after the
-- account was not seen for --recycle-after is kept, detached from the
-- number. Its phone becomes "lost:<id>" (the column stays NOT NULL UNIQUE,
-- and no number or email address looks like that), the number it had is
-- kept in lost_phone for the dashboard, and number_lost_at says when
-- (unix milliseconds).
ALTER TABLE users ADD COLUMN lost_phone TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN number_lost_at INTEGER;

-- A change of number tells the address books holding the old number: its
-- notice is fanned out to the holders of audience_hash (the old number's
-- keyed hash) instead of the subject's current hash. NULL: the subject's.
ALTER TABLE events ADD COLUMN audience_hash BLOB;
