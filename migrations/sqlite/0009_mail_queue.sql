-- Password-reset emails waiting to be sent, one per reset challenge. A request answers once its
-- row is committed; a worker sends it, retrying with backoff. A reset for an email with no
-- account queues a row too (the same work, so the same time), which the worker drops unsent. No code is stored here: the worker
-- derives it again from the server secret and the challenge id. Removing the challenge (used,
-- swept, or its account deleted) removes its email.
CREATE TABLE mail_queue (
    challenge_id TEXT PRIMARY KEY REFERENCES challenges(id) ON DELETE CASCADE,
    attempts     INTEGER NOT NULL DEFAULT 0, -- sends begun, the current one included
    next_at      INTEGER NOT NULL,           -- unix ms: due then; while a send runs, its lease end
    queued_at    INTEGER NOT NULL            -- unix ms
) STRICT;
CREATE INDEX mail_queue_due ON mail_queue(next_at);
