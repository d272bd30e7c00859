-- Wrong passwords at the re-check, as sqlite/0006_admin_recheck.sql.
ALTER TABLE admin_sessions ADD COLUMN recheck_failures BIGINT NOT NULL DEFAULT 0;
