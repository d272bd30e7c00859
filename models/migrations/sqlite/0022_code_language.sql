-- The language of a code's messages, chosen when it is requested, so that a
-- fallback to another channel speaks the same language ('' = the default).
ALTER TABLE otp_codes ADD COLUMN lang TEXT NOT NULL DEFAULT '';
