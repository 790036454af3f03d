-- Ids are never reused (AUTOINCREMENT keeps the highest id ever handed out in sqlite_sequence),
-- so a retried DELETE can never remove a newer task. Every row keeps its id; the sequence starts
-- from the highest id present now. Runs with foreign keys off (see store::open), so dropping the
-- old tables cascades nowhere.
CREATE TABLE users_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL,          -- unix milliseconds
    task_count    INTEGER NOT NULL DEFAULT 0 -- kept in step with tasks so listing never counts
) STRICT;
INSERT INTO users_new (id, email, password_hash, created_at, task_count)
    SELECT id, email, password_hash, created_at, task_count FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;

CREATE TABLE tasks_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    date       TEXT NOT NULL,
    text       TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('Completed', 'Incomplete')),
    sort_key   TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
INSERT INTO tasks_new (id, user_id, date, text, status, sort_key, created_at, updated_at)
    SELECT id, user_id, date, text, status, sort_key, created_at, updated_at FROM tasks;
DROP TABLE tasks;
ALTER TABLE tasks_new RENAME TO tasks;
CREATE UNIQUE INDEX tasks_order ON tasks(user_id, sort_key);

-- Failed sign-ins and wrong codes, one row each, counted over a sliding window; kept in the
-- database so the counts survive restarts. `scope` says what `key` is (an email and address,
-- an address, an email, a user id).
CREATE TABLE failures (
    scope TEXT NOT NULL,
    key   TEXT NOT NULL,
    at    INTEGER NOT NULL -- unix milliseconds
) STRICT;
CREATE INDEX failures_by_key ON failures(scope, key, at);
CREATE INDEX failures_by_age ON failures(at);

-- One live challenge per account: a new login ends the older ones.
CREATE INDEX challenges_by_user ON challenges(user_id);
