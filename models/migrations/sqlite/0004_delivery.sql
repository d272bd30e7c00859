-- Real delivery channels (Twilio, signed webhook, SMTP) and mesibo tokens.
-- Times are unix milliseconds.

-- Every delivery attempt of an outbox message, for the dashboard: what was
-- tried, when, how long it took and what the provider answered.
CREATE TABLE outbox_attempts (
    id           INTEGER PRIMARY KEY,
    outbox_id    INTEGER NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    attempt      INTEGER NOT NULL,                  -- 1 for the first try
    at           INTEGER NOT NULL,                  -- when the attempt ended
    channel      TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('sent', 'retry', 'failed')),
    http_status  INTEGER NOT NULL DEFAULT 0,        -- 0: no HTTP answer (timeout, SMTP, console)
    provider_ref TEXT    NOT NULL DEFAULT '',       -- the provider's message id (Twilio SID, ...)
    error        TEXT    NOT NULL DEFAULT '',       -- the provider's error text
    duration_ms  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_attempts_outbox ON outbox_attempts (outbox_id, attempt);

-- kind tells one-time codes from background jobs that share the outbox's
-- retries (revoking tokens at mesibo). code is the bare one-time code for
-- channels that send it as a field of their own (the webhook); it is cleared
-- together with the body once the message is delivered or given up.
ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'otp';
ALTER TABLE outbox ADD COLUMN code TEXT NOT NULL DEFAULT '';
-- The global hourly SMS cap counts recent messages per channel.
CREATE INDEX outbox_channel_created ON outbox (channel, created_at);

-- mesibo mode: the user's uid at mesibo, and per session the uid and the
-- sealed (AES-GCM) mesibo token, kept only so that this one token can be
-- deleted at mesibo when the session is revoked. Lookups use token_hash.
ALTER TABLE users ADD COLUMN mesibo_uid TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN mesibo_uid TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN mesibo_token_sealed BLOB;
