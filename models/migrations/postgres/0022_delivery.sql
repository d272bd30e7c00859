-- The language of a code's messages and delivery receipts, as
-- sqlite/0022_delivery.sql.
ALTER TABLE otp_codes ADD COLUMN lang TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN lang TEXT NOT NULL DEFAULT '';

ALTER TABLE outbox_attempts ADD COLUMN receipt TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox_attempts ADD COLUMN receipt_at BIGINT;
ALTER TABLE outbox_attempts ADD COLUMN receipt_error TEXT NOT NULL DEFAULT '';
CREATE INDEX outbox_attempts_provider_ref ON outbox_attempts (provider_ref) WHERE provider_ref <> '';
