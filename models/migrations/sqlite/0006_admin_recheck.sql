-- Wrong passwords at the re-check before destructive actions, per admin
-- session: the attempt is counted before bcrypt runs, and the session ends
-- after a few failures (a stolen session cannot guess the password).
ALTER TABLE admin_sessions ADD COLUMN recheck_failures INTEGER NOT NULL DEFAULT 0;
