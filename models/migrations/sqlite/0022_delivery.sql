-- The language of a code's messages, chosen when it is requested, so that a
-- fallback to another channel speaks the same language ('' = the default).
ALTER TABLE otp_codes ADD COLUMN lang TEXT NOT NULL DEFAULT '';
-- and of each message, for channels whose provider holds the texts
-- (WhatsApp's template, in each of its languages).
ALTER TABLE outbox ADD COLUMN lang TEXT NOT NULL DEFAULT '';

-- Delivery receipts: what the provider later reported of an attempt it
-- accepted ('' = nothing yet; sent, delivered, read, undelivered, failed),
-- when, and its error. Receipts find their attempt by the provider's id.
ALTER TABLE outbox_attempts ADD COLUMN receipt TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox_attempts ADD COLUMN receipt_at INTEGER;
ALTER TABLE outbox_attempts ADD COLUMN receipt_error TEXT NOT NULL DEFAULT '';
CREATE INDEX outbox_attempts_provider_ref ON outbox_attempts (provider_ref) WHERE provider_ref <> '';
