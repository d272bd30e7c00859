-- Repeated refused events counted on one row, the log pruned after its
-- retention, sign-in forms good for one try, the budget of address-book
-- writes: as sqlite/0013_exhaustion_limits.sql.
ALTER TABLE audit_log ADD COLUMN repeats BIGINT;
ALTER TABLE audit_log ADD COLUMN last_at BIGINT;
CREATE INDEX audit_repeats ON audit_log (type, ip, at) WHERE repeats IS NOT NULL;
DROP TRIGGER audit_log_no_update ON audit_log;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OF id, at, actor, type, phone, user_id, ip, user_agent, detail ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

DROP TRIGGER audit_log_no_delete ON audit_log;
CREATE FUNCTION audit_log_keep_recent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.at > (SELECT max(at) FROM audit_log) - 30 * 86400000::bigint THEN
        RAISE EXCEPTION 'audit_log entries are kept 30 days at least';
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_keep_recent();

CREATE TABLE admin_login_forms (
    token_hash BYTEA  PRIMARY KEY,
    used_at    BIGINT NOT NULL
);
CREATE INDEX admin_login_forms_used ON admin_login_forms (used_at);

CREATE TABLE contact_write_budget (
    user_id    BIGINT           PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    tokens     DOUBLE PRECISION NOT NULL,
    updated_at BIGINT           NOT NULL
);
