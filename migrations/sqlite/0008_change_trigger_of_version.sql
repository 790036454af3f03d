-- The feed's update trigger fires only for statements that set `version`. As `AFTER UPDATE`
-- with the check in its WHEN clause, SQLite still ran the trigger's program (a frame of
-- registers set up, then the WHEN checked) for every row a sort parks on a spare key, which
-- never changes the version: half of a sort's row updates.
DROP TRIGGER tasks_change_update;
CREATE TRIGGER tasks_change_update AFTER UPDATE OF version ON tasks WHEN NEW.version <> OLD.version
BEGIN
    UPDATE users SET change_seq = change_seq + 1 WHERE id = NEW.user_id;
    UPDATE changes SET seq = (SELECT change_seq FROM users WHERE id = NEW.user_id),
                       at = NEW.updated_at
    WHERE task_id = NEW.id;
END;
