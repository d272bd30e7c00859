-- The language of a code's messages, as sqlite/0022_code_language.sql.
ALTER TABLE otp_codes ADD COLUMN lang TEXT NOT NULL DEFAULT '';
