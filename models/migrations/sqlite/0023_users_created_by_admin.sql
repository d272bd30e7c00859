-- Accounts an administrator creates (the dashboard, roster users create)
-- before their owner has proven the number: created_by names who created
-- one ("admin:NAME" or "cli"; '' for an account its owner made by signing
-- in), and awaiting_signin holds it hidden (no phone_hash, so no address
-- book matches it and no "joined" notice goes out) until the owner's first
-- completed sign-in, which is its join.
ALTER TABLE users ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN awaiting_signin INTEGER NOT NULL DEFAULT 0;
