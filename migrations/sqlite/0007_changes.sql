-- The change feed (GET /v1/tasks/changes, /v1/tasks/events): one row per task, holding its
-- latest change. Each change takes the next number of its owner's own sequence while the write
-- holds the database, so numbers follow commit order and a reader never sees a later number
-- before an earlier one. A deleted task's row stays as a tombstone, kept at least 30 days.
-- Triggers keep the feed, so no write to tasks can leave it out.
ALTER TABLE users ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
-- The newest number among the tombstones swept away: a client behind it has missed a delete.
ALTER TABLE users ADD COLUMN changes_swept_seq INTEGER NOT NULL DEFAULT 0;

CREATE TABLE changes (
    task_id INTEGER PRIMARY KEY,          -- task ids are never reused (AUTOINCREMENT)
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    at      INTEGER NOT NULL              -- unix milliseconds of the change
) STRICT;
-- A feed page is a range read of this index, the same cost however long the history.
CREATE UNIQUE INDEX changes_by_seq ON changes(user_id, seq);
CREATE INDEX tombstones_by_age ON changes(at) WHERE deleted = 1;

-- The tasks there are today enter the feed in their owner's order.
INSERT INTO changes (task_id, user_id, seq, at)
    SELECT id, user_id, row_number() OVER (PARTITION BY user_id ORDER BY sort_key), updated_at
    FROM tasks;
UPDATE users SET change_seq = (SELECT count(*) FROM tasks t WHERE t.user_id = users.id);

CREATE TRIGGER tasks_change_insert AFTER INSERT ON tasks
BEGIN
    UPDATE users SET change_seq = change_seq + 1 WHERE id = NEW.user_id;
    INSERT INTO changes (task_id, user_id, seq, at)
        SELECT NEW.id, NEW.user_id, change_seq, NEW.updated_at FROM users WHERE id = NEW.user_id;
END;
-- Every change a user can see bumps the version: edits, moves, sorts, respaced keys.
CREATE TRIGGER tasks_change_update AFTER UPDATE ON tasks WHEN NEW.version <> OLD.version
BEGIN
    UPDATE users SET change_seq = change_seq + 1 WHERE id = NEW.user_id;
    UPDATE changes SET seq = (SELECT change_seq FROM users WHERE id = NEW.user_id),
                       at = NEW.updated_at
    WHERE task_id = NEW.id;
END;
-- Not when the account itself is deleted: its feed goes with it.
CREATE TRIGGER tasks_change_delete AFTER DELETE ON tasks
    WHEN EXISTS (SELECT 1 FROM users WHERE id = OLD.user_id)
BEGIN
    UPDATE users SET change_seq = change_seq + 1 WHERE id = OLD.user_id;
    UPDATE changes SET seq = (SELECT change_seq FROM users WHERE id = OLD.user_id),
                       deleted = 1,
                       at = CAST(unixepoch('subsec') * 1000 AS INTEGER)
    WHERE task_id = OLD.id;
END;
