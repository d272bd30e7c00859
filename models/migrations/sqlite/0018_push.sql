-- Push notifications. push_set_at is when the app last set the session's
-- token (APNs reports a token dead as of a time: one set again after it is
-- kept); push_disabled says why a token is kept but never used (a token of
-- another Firebase project); push_result is the last push's outcome, for
-- the dashboard. A token belongs to one session: the indexes find the
-- session that held a token another session now sets.
ALTER TABLE sessions ADD COLUMN push_set_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN push_disabled TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN push_result TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN push_result_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX sessions_notify_token ON sessions (notify_token) WHERE notify_token <> '';
CREATE INDEX sessions_fcm_id ON sessions (fcm_id) WHERE fcm_id <> '';

-- Live event streams, on every instance: a device with one gets the
-- stream and no push. A stream refreshes its row with its heartbeat, so
-- the row of a crashed instance lapses within one heartbeat.
CREATE TABLE live_streams (
    id         INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
);
CREATE INDEX live_streams_session ON live_streams (session_id, expires_at);
CREATE INDEX live_streams_expires ON live_streams (expires_at);

-- Push jobs are claimed apart from codes and mesibo jobs.
CREATE INDEX outbox_kind_due ON outbox (kind, state, next_attempt_at);
