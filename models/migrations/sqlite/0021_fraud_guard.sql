-- The fraud guard (models/signin_fraud.go). A code's number prefix (the
-- E.164 number without its last 4 digits) and country (ISO region) are
-- stored so that the limits per prefix and per country, and the conversion
-- watch per country, count them by index. held_reason is why a code was
-- held (stored, answered as usual, never sent); empty when it was not.
-- Codes from before this migration have neither: the counts start with it.
ALTER TABLE otp_codes ADD COLUMN prefix TEXT NOT NULL DEFAULT '';
ALTER TABLE otp_codes ADD COLUMN country TEXT NOT NULL DEFAULT '';
ALTER TABLE otp_codes ADD COLUMN held_reason TEXT NOT NULL DEFAULT '';
CREATE INDEX otp_codes_prefix ON otp_codes (prefix, created_at);
CREATE INDEX otp_codes_country ON otp_codes (country, created_at);

-- A country an administrator released from the conversion watch: its codes
-- requested before released_at no longer count on the watch.
CREATE TABLE fraud_releases (
    country     TEXT    PRIMARY KEY,
    released_at INTEGER NOT NULL,
    released_by TEXT    NOT NULL
);

-- The fraud guard's settings changed on the dashboard, read by every
-- instance: "sending" = "off" is the kill switch.
CREATE TABLE fraud_settings (
    name       TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    changed_at INTEGER NOT NULL,
    changed_by TEXT    NOT NULL
);
