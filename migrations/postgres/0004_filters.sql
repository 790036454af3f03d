-- Lists filtered by status or date (same as SQLite's 0005): a per-status index in the owner's
-- order, and a counter of completed tasks kept by a trigger.
ALTER TABLE users ADD COLUMN completed_count BIGINT NOT NULL DEFAULT 0;
UPDATE users SET completed_count =
    (SELECT count(*) FROM tasks t WHERE t.user_id = users.id AND t.status = 'Completed');

CREATE FUNCTION listo_count_completed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'Completed' THEN
        UPDATE users SET completed_count = completed_count - 1 WHERE id = OLD.user_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.status = 'Completed' THEN
        UPDATE users SET completed_count = completed_count + 1 WHERE id = NEW.user_id;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER tasks_count_completed
    AFTER INSERT OR DELETE OR UPDATE OF status ON tasks
    FOR EACH ROW EXECUTE FUNCTION listo_count_completed();

CREATE INDEX tasks_by_status ON tasks(user_id, status, sort_key);
CREATE INDEX tasks_by_date ON tasks(user_id, date);
