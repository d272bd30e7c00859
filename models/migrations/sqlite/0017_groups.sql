-- Groups: the old backend's group ops (models/groups*.go). Times are unix
-- milliseconds. A deleted group keeps its row (deleted_at set, no members)
-- so that the delta sync can tell its former members once.
CREATE TABLE chat_groups (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL DEFAULT '',
    photo      TEXT    NOT NULL DEFAULT '',      -- file name under the download URL
    thumbnail  TEXT    NOT NULL DEFAULT '',      -- base64 JPEG, the protocol's `tn`
    created_at INTEGER NOT NULL,
    changed_at INTEGER NOT NULL,                 -- last change: the protocol's group `ts`
    deleted_at INTEGER,                          -- NULL: the group exists
    mesibo_gid TEXT    NOT NULL DEFAULT ''       -- the group's id at mesibo (mesibo mode)
);
CREATE INDEX chat_groups_changed ON chat_groups (changed_at);

-- Members with their role: 0 member, 1 admin, 2 owner (one per group).
-- added_event is the notice that told them "You have been added" (NULL:
-- not told, as the creator): the group's change notices before it are not
-- theirs, those after it are.
CREATE TABLE group_members (
    group_id    INTEGER NOT NULL REFERENCES chat_groups (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role        INTEGER NOT NULL DEFAULT 0 CHECK (role IN (0, 1, 2)),
    added_at    INTEGER NOT NULL,
    added_event INTEGER,
    PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX group_members_user ON group_members (user_id, group_id);
CREATE UNIQUE INDEX group_members_owner ON group_members (group_id) WHERE role = 2;

-- Who left a group, was removed from it or saw it deleted: their delta sync
-- returns the group once more, without them among its members, and the
-- change notices from their added_event to their left_event (the change
-- that took them out) reach them.
CREATE TABLE group_departures (
    group_id    INTEGER NOT NULL REFERENCES chat_groups (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    left_at     INTEGER NOT NULL,
    added_event INTEGER,
    left_event  INTEGER,
    PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX group_departures_user ON group_departures (user_id, left_at);

-- People added to a group who are not users: the keyed hashes of their
-- numbers (PhoneHasher, as address books keep them), never the numbers.
-- They count toward the group's size and become members when they sign up.
CREATE TABLE group_invites (
    group_id   INTEGER NOT NULL REFERENCES chat_groups (id) ON DELETE CASCADE,
    phone_hash BLOB    NOT NULL,
    added_at   INTEGER NOT NULL,
    PRIMARY KEY (group_id, phone_hash)
) WITHOUT ROWID;
CREATE INDEX group_invites_phone ON group_invites (phone_hash);

-- Who may add a user to a group: everyone, contacts (people in the user's
-- own address book) or nobody.
ALTER TABLE users ADD COLUMN groupadd TEXT NOT NULL DEFAULT 'everyone' CHECK (groupadd IN ('everyone', 'contacts', 'nobody'));

-- Group notices travel the events' path: two more types, and the group an
-- event is about. SQLite cannot change a CHECK in place: the table is
-- built again, with its deliveries (dropped first, so that dropping the
-- old events table cascades to nothing).
CREATE TABLE events_new (
    id            INTEGER PRIMARY KEY,
    type          TEXT    NOT NULL CHECK (type IN ('joined', 'profile', 'group', 'group_added')),
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body          TEXT    NOT NULL,           -- the protocol's JSON notice
    created_at    INTEGER NOT NULL,
    fanout_cursor INTEGER NOT NULL DEFAULT 0,
    recipients    INTEGER NOT NULL DEFAULT 0,
    fanned_out_at INTEGER,
    group_id      INTEGER REFERENCES chat_groups (id) ON DELETE CASCADE
);
INSERT INTO events_new (id, type, user_id, body, created_at, fanout_cursor, recipients, fanned_out_at)
    SELECT id, type, user_id, body, created_at, fanout_cursor, recipients, fanned_out_at FROM events;
CREATE TABLE event_deliveries_new (
    recipient_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    event_id     INTEGER NOT NULL REFERENCES events_new (id) ON DELETE CASCADE,
    PRIMARY KEY (recipient_id, event_id)
) WITHOUT ROWID;
INSERT INTO event_deliveries_new (recipient_id, event_id) SELECT recipient_id, event_id FROM event_deliveries;
DROP TABLE event_deliveries;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
ALTER TABLE event_deliveries_new RENAME TO event_deliveries;
CREATE INDEX events_pending ON events (id) WHERE fanned_out_at IS NULL;
CREATE INDEX events_created ON events (created_at);
CREATE INDEX events_user ON events (user_id);
CREATE INDEX events_group ON events (group_id) WHERE group_id IS NOT NULL;
CREATE INDEX event_deliveries_event ON event_deliveries (event_id);
