-- When an administrator last cleared a number's code quotas: its codes
-- requested before then no longer count on the per-number quotas (the
-- codes stay, with their history). One row per number that was unlocked.
CREATE TABLE phone_quota_resets (
    phone    TEXT   COLLATE "C" PRIMARY KEY,
    reset_at BIGINT NOT NULL
);
