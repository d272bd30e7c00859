-- Two-factor sign-in for administrators (TOTP, RFC 6238) with recovery
-- codes. Secrets are sealed with AES-GCM under a key derived from the OTP
-- key (models/admin_totp.go): a dump of the database alone does not give
-- them. Times are unix milliseconds.
ALTER TABLE admins ADD COLUMN totp_secret BLOB;          -- sealed; NULL: no second factor
ALTER TABLE admins ADD COLUMN totp_pending BLOB;         -- sealed; a secret shown for enrolment, not yet confirmed
ALTER TABLE admins ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0; -- the last 30-second step a code was used in
-- A session whose password was checked and whose second factor was not yet:
-- the time it must be given by. It grants nothing until then.
ALTER TABLE admin_sessions ADD COLUMN second_factor_due INTEGER;

-- Ten codes per admin, shown once; only their SHA-256 is stored (each is
-- 50 random bits). A used code keeps its row, with the time of its use.
CREATE TABLE admin_recovery_codes (
    id        INTEGER PRIMARY KEY,
    admin_id  INTEGER NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    code_hash BLOB    NOT NULL,
    used_at   INTEGER
);
CREATE UNIQUE INDEX admin_recovery_codes_code ON admin_recovery_codes (admin_id, code_hash);

-- Dashboard-wide rules an owner sets: at most one row, written the first
-- time an owner sets one (none: the defaults; a new database stays empty
-- for roster copy).
CREATE TABLE admin_policy (
    id                    INTEGER PRIMARY KEY CHECK (id = 1),
    require_second_factor INTEGER NOT NULL DEFAULT 0
);
