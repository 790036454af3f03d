-- Lists filtered by status or date. A page of one status is a range read of its own index in
-- the owner's order; its total is a counter kept by triggers, so no filtered list is counted.
ALTER TABLE users ADD COLUMN completed_count INTEGER NOT NULL DEFAULT 0;
UPDATE users SET completed_count =
    (SELECT count(*) FROM tasks t WHERE t.user_id = users.id AND t.status = 'Completed');

CREATE TRIGGER tasks_completed_insert AFTER INSERT ON tasks WHEN NEW.status = 'Completed'
BEGIN
    UPDATE users SET completed_count = completed_count + 1 WHERE id = NEW.user_id;
END;
CREATE TRIGGER tasks_completed_delete AFTER DELETE ON tasks WHEN OLD.status = 'Completed'
BEGIN
    UPDATE users SET completed_count = completed_count - 1 WHERE id = OLD.user_id;
END;
CREATE TRIGGER tasks_completed_update AFTER UPDATE OF status ON tasks
    WHEN OLD.status <> NEW.status
BEGIN
    UPDATE users SET completed_count = completed_count
        + CASE WHEN NEW.status = 'Completed' THEN 1 ELSE -1 END
    WHERE id = NEW.user_id;
END;

CREATE INDEX tasks_by_status ON tasks(user_id, status, sort_key);
CREATE INDEX tasks_by_date ON tasks(user_id, date);
