-- Password-reset emails waiting to be sent (same as SQLite's 0009). Workers on every process
-- claim due rows with FOR UPDATE SKIP LOCKED and push `next_at` past the send (a lease), so two
-- processes never send one email at once.
CREATE TABLE mail_queue (
    challenge_id TEXT PRIMARY KEY REFERENCES challenges(id) ON DELETE CASCADE,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      BIGINT NOT NULL,
    queued_at    BIGINT NOT NULL
);
CREATE INDEX mail_queue_due ON mail_queue(next_at);
