-- Contacts, profiles and notices: the keyed hash of each user's number, the
-- address books (keyed hashes only, never raw numbers), the allowance of
-- never-seen numbers, the record of each sync, and the events told to
-- contacts with their per-recipient deliveries. Times are unix milliseconds.

-- HMAC-SHA256(contacts key, E.164) truncated to 16 bytes; set when the user is
-- created. NULL only for rows made before this migration (none in production).
-- It is unique because phone is. The index carries profile_at so that an
-- incremental sync tests "changed since" without reading the user's row.
ALTER TABLE users ADD COLUMN phone_hash BLOB;
CREATE INDEX users_phone_hash ON users (phone_hash, profile_at);

-- One row per number in a user's address book. The primary key serves "my
-- contacts"; the index serves the reverse lookup "who has this number".
CREATE TABLE address_book (
    owner_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    contact_hash BLOB    NOT NULL,
    PRIMARY KEY (owner_id, contact_hash)
) WITHOUT ROWID;
CREATE INDEX address_book_contact ON address_book (contact_hash);

-- What the latest reset=1 removed from a user's address book: those numbers
-- stay "known" (free of the allowance) for a day, so a client resending its
-- book after a reset does not pay for it again. Never read for matching.
CREATE TABLE address_book_reset (
    owner_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    contact_hash BLOB    NOT NULL,
    reset_at     INTEGER NOT NULL,
    PRIMARY KEY (owner_id, contact_hash)
) WITHOUT ROWID;

-- Token bucket of never-seen numbers a user may still upload.
CREATE TABLE contact_allowance (
    user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    tokens     REAL    NOT NULL,
    updated_at INTEGER NOT NULL
);

-- One row per getcontacts/delcontacts call, for the dashboard.
CREATE TABLE contact_syncs (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('upload', 'incremental', 'delete')),
    reset       INTEGER NOT NULL DEFAULT 0,
    received    INTEGER NOT NULL DEFAULT 0,   -- numbers in the request
    valid       INTEGER NOT NULL DEFAULT 0,   -- possible numbers among them (distinct)
    new_numbers INTEGER NOT NULL DEFAULT 0,   -- not in the address book before
    matched     INTEGER NOT NULL DEFAULT 0,   -- users returned
    duration_us INTEGER NOT NULL DEFAULT 0,
    refused     TEXT    NOT NULL DEFAULT ''   -- '', 'toolarge' or 'ratelimit'
);
CREATE INDEX contact_syncs_user ON contact_syncs (user_id, at);
CREATE INDEX contact_syncs_at ON contact_syncs (at);

-- Notices to contacts (a user joined, a profile changed), written in the
-- transaction of the change. fanout_cursor is the last address-book owner id
-- handled, so a restarted fan-out resumes; fanned_out_at is set when done.
CREATE TABLE events (
    id            INTEGER PRIMARY KEY,
    type          TEXT    NOT NULL CHECK (type IN ('joined', 'profile')),
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body          TEXT    NOT NULL,           -- the protocol's JSON notice
    created_at    INTEGER NOT NULL,
    fanout_cursor INTEGER NOT NULL DEFAULT 0,
    recipients    INTEGER NOT NULL DEFAULT 0,
    fanned_out_at INTEGER
);
CREATE INDEX events_pending ON events (id) WHERE fanned_out_at IS NULL;
CREATE INDEX events_created ON events (created_at);
CREATE INDEX events_user ON events (user_id);

-- The events each user is to be told, read by their live stream.
CREATE TABLE event_deliveries (
    recipient_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    event_id     INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    PRIMARY KEY (recipient_id, event_id)
) WITHOUT ROWID;
CREATE INDEX event_deliveries_event ON event_deliveries (event_id);
