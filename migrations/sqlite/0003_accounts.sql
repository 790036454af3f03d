-- Account lifecycle: password-reset challenges beside login ones, and sessions a user can list
-- and end one by one.

-- A challenge is for one purpose: a login code works only at /verify, a reset code only at
-- /password-reset/confirm. A reset asked for an unknown email gets a challenge too (no user,
-- no code that matches), so its answers cannot tell whether the account exists; `email` keys
-- the wrong-code budget of resets the same way for both.
CREATE TABLE challenges_new (
    id            TEXT PRIMARY KEY,
    purpose       TEXT NOT NULL CHECK (purpose IN ('login', 'reset')),
    user_id       INTEGER REFERENCES users(id) ON DELETE CASCADE,
    email         TEXT,
    code_hash     BLOB NOT NULL,
    attempts_left INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
) STRICT;
INSERT INTO challenges_new (id, purpose, user_id, code_hash, attempts_left, expires_at)
    SELECT id, 'login', user_id, code_hash, attempts_left, expires_at FROM challenges;
DROP TABLE challenges;
ALTER TABLE challenges_new RENAME TO challenges;
CREATE INDEX challenges_expiry ON challenges(expires_at);
CREATE INDEX challenges_by_user ON challenges(user_id);

-- A session's public id (listed, revoked by id; says nothing of the token), and where it was
-- opened from, shown back to its owner only.
ALTER TABLE sessions ADD COLUMN public_id TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
ALTER TABLE sessions ADD COLUMN address TEXT;
UPDATE sessions SET public_id = lower(hex(randomblob(16)));
CREATE UNIQUE INDEX sessions_public_id ON sessions(public_id);
CREATE INDEX sessions_by_user ON sessions(user_id);
