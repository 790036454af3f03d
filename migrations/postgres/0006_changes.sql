-- The change feed (same as SQLite's 0007): one row per task, holding its latest change. Each
-- change takes the next number of its owner's own sequence on the owner's `users` row, which
-- the write holds until it commits: numbers follow commit order on every process, and a reader
-- never sees a later number before an earlier one. Deleted tasks stay as tombstones, kept at
-- least 30 days. A trigger keeps the feed, so no write to tasks can leave it out.
ALTER TABLE users ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0,
                  -- The newest number among the tombstones swept away.
                  ADD COLUMN changes_swept_seq BIGINT NOT NULL DEFAULT 0;

CREATE TABLE changes (
    task_id BIGINT PRIMARY KEY,           -- task ids are never reused (identity)
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    seq     BIGINT NOT NULL,
    deleted BOOLEAN NOT NULL DEFAULT false,
    at      BIGINT NOT NULL               -- unix milliseconds of the change
);
CREATE UNIQUE INDEX changes_by_seq ON changes(user_id, seq);
CREATE INDEX tombstones_by_age ON changes(at) WHERE deleted;

INSERT INTO changes (task_id, user_id, seq, at)
    SELECT id, user_id, row_number() OVER (PARTITION BY user_id ORDER BY sort_key), updated_at
    FROM tasks;
UPDATE users SET change_seq = (SELECT count(*) FROM tasks t WHERE t.user_id = users.id);

CREATE FUNCTION listo_record_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    next BIGINT;
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE users SET change_seq = change_seq + 1 WHERE id = NEW.user_id
            RETURNING change_seq INTO next;
        INSERT INTO changes (task_id, user_id, seq, at)
            VALUES (NEW.id, NEW.user_id, next, NEW.updated_at);
    ELSIF TG_OP = 'UPDATE' THEN
        -- Every change a user can see bumps the version: edits, moves, sorts, respaced keys.
        IF NEW.version <> OLD.version THEN
            UPDATE users SET change_seq = change_seq + 1 WHERE id = NEW.user_id
                RETURNING change_seq INTO next;
            UPDATE changes SET seq = next, at = NEW.updated_at WHERE task_id = NEW.id;
        END IF;
    ELSE
        UPDATE users SET change_seq = change_seq + 1 WHERE id = OLD.user_id
            RETURNING change_seq INTO next;
        -- Not found when the account itself is being deleted: its feed goes with it.
        IF FOUND THEN
            UPDATE changes
               SET seq = next, deleted = true,
                   at = (extract(epoch FROM clock_timestamp()) * 1000)::bigint
             WHERE task_id = OLD.id;
        END IF;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER tasks_record_change
    AFTER INSERT OR DELETE OR UPDATE ON tasks
    FOR EACH ROW EXECUTE FUNCTION listo_record_change();
