-- Retry-safe writes (same as SQLite's 0006).
CREATE TABLE idempotency_keys (
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    fingerprint BYTEA NOT NULL,
    claim       TEXT NOT NULL,
    claimed_at  BIGINT NOT NULL,
    status      INTEGER,
    body        TEXT,
    location    TEXT,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys(claimed_at);
