-- Retry-safe writes: a create, move or sort sent with an Idempotency-Key runs once; a repeat
-- with the same key and body answers the stored response again. Kept 24 hours (the sweeper).
-- `status` is NULL while the first request runs; `claim` names that run, so a run taken over
-- after it stalled cannot complete it.
CREATE TABLE idempotency_keys (
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    fingerprint BLOB NOT NULL,
    claim       TEXT NOT NULL,
    claimed_at  INTEGER NOT NULL,
    status      INTEGER,
    body        TEXT,
    location    TEXT,
    PRIMARY KEY (user_id, key)
) STRICT;
CREATE INDEX idempotency_keys_age ON idempotency_keys(claimed_at);
