-- When an administrator last cleared a number's code quotas: its codes
-- requested before then no longer count on the per-number quotas (the
-- codes stay, with their history). One row per number that was unlocked.
CREATE TABLE phone_quota_resets (
    phone    TEXT    PRIMARY KEY,
    reset_at INTEGER NOT NULL
);
