-- Secret check values, the readiness write probe and the change-time index,
-- as sqlite/0012_fault_checks.sql.
CREATE TABLE secret_checks (
    name        TEXT   PRIMARY KEY,
    check_value BYTEA  NOT NULL,
    recorded_at BIGINT NOT NULL
);

CREATE TABLE write_probe (
    id BIGINT PRIMARY KEY,
    at BIGINT NOT NULL
);
INSERT INTO write_probe (id, at) VALUES (1, 0);

CREATE INDEX users_profile_at ON users (profile_at);
