-- Account lifecycle: password-reset challenges beside login ones, and sessions a user can list
-- and end one by one. (Same as SQLite's 0003.)

-- A challenge is for one purpose; a reset for an unknown email has no user, and `email` keys
-- the wrong-code budget of resets the same way whether or not the account exists.
ALTER TABLE challenges ADD COLUMN purpose TEXT NOT NULL DEFAULT 'login'
    CHECK (purpose IN ('login', 'reset'));
ALTER TABLE challenges ALTER COLUMN purpose DROP DEFAULT;
ALTER TABLE challenges ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE challenges ADD COLUMN email TEXT;

-- A session's public id, and where it was opened from (shown back to its owner only).
ALTER TABLE sessions ADD COLUMN public_id TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
ALTER TABLE sessions ADD COLUMN address TEXT;
UPDATE sessions SET public_id = md5(random()::text || clock_timestamp()::text || encode(token_hash, 'hex'));
ALTER TABLE sessions ALTER COLUMN public_id SET NOT NULL;
CREATE UNIQUE INDEX sessions_public_id ON sessions(public_id);
