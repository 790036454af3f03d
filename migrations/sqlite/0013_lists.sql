-- Lists: a user owns several lists, each with its own order; every user has one default list
-- ("Tasks") that `/v1/tasks` works on, and every task from before joins its owner's default list
-- with its id, key, version and feed position kept. The list is the unit that owns an order, a
-- lock and feed entries. Runs with foreign keys off (see store::open), checked after.

CREATE TABLE lists (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,   -- never reused: feed entries name it
    owner_id        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    is_default      INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    -- Kept in step with its tasks by triggers, so no page of a list is counted.
    task_count      INTEGER NOT NULL DEFAULT 0,
    completed_count INTEGER NOT NULL DEFAULT 0,
    version         INTEGER NOT NULL DEFAULT 1,
    created_at      INTEGER NOT NULL,                    -- unix milliseconds
    updated_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX lists_by_owner ON lists(owner_id, id);
CREATE UNIQUE INDEX lists_one_default ON lists(owner_id) WHERE is_default = 1;

-- Read with the session, so `/v1/tasks` finds its list without a query of its own.
ALTER TABLE users ADD COLUMN default_list_id INTEGER;

INSERT INTO lists (owner_id, name, is_default, task_count, completed_count, created_at, updated_at)
    SELECT id, 'Tasks', 1, task_count, completed_count, created_at, created_at FROM users ORDER BY id;
UPDATE users SET default_list_id = (SELECT id FROM lists WHERE owner_id = users.id AND is_default = 1);

-- Tasks belong to a list; `user_id` stays, as the list owner's (whose quota they count toward).
-- The rebuild drops the old table's indexes and triggers (0005, 0007, 0008): made again below.
CREATE TABLE tasks_next (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    list_id    INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL,
    date       TEXT NOT NULL,
    text       TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('Completed', 'Incomplete')),
    sort_key   TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version    INTEGER NOT NULL DEFAULT 1
) STRICT;
INSERT INTO tasks_next (id, list_id, user_id, date, text, status, sort_key, created_at,
                        updated_at, version)
    SELECT t.id, u.default_list_id, t.user_id, t.date, t.text, t.status, t.sort_key,
           t.created_at, t.updated_at, t.version
    FROM tasks t JOIN users u ON u.id = t.user_id;
-- AUTOINCREMENT's high-water mark goes with the old table: the new one starts past every id
-- ever handed out (deleted tasks still have tombstones in the feed), not past the highest live one.
UPDATE sqlite_sequence
   SET seq = max(seq, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'tasks'), 0))
 WHERE name = 'tasks_next';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'tasks_next', seq FROM sqlite_sequence
    WHERE name = 'tasks' AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'tasks_next');
DROP TABLE tasks;
ALTER TABLE tasks_next RENAME TO tasks;

-- A list's order: pages are read straight off this index.
CREATE UNIQUE INDEX tasks_order ON tasks(list_id, sort_key);
CREATE INDEX tasks_by_status ON tasks(list_id, status, sort_key);
CREATE INDEX tasks_by_date ON tasks(list_id, date);

-- The counters move to the list; the user's `task_count` stays (the quota counts every task in
-- the lists the user owns), its `completed_count` goes.
ALTER TABLE users DROP COLUMN completed_count;
CREATE TRIGGER tasks_count_insert AFTER INSERT ON tasks
BEGIN
    UPDATE lists SET task_count = task_count + 1,
                     completed_count = completed_count + (NEW.status = 'Completed')
    WHERE id = NEW.list_id;
END;
CREATE TRIGGER tasks_count_delete AFTER DELETE ON tasks
BEGIN
    UPDATE lists SET task_count = task_count - 1,
                     completed_count = completed_count - (OLD.status = 'Completed')
    WHERE id = OLD.list_id;
END;
CREATE TRIGGER tasks_count_update AFTER UPDATE OF status, list_id ON tasks
    WHEN OLD.status <> NEW.status OR OLD.list_id <> NEW.list_id
BEGIN
    UPDATE lists SET task_count = task_count - 1,
                     completed_count = completed_count - (OLD.status = 'Completed')
    WHERE id = OLD.list_id;
    UPDATE lists SET task_count = task_count + 1,
                     completed_count = completed_count + (NEW.status = 'Completed')
    WHERE id = NEW.list_id;
END;

-- The feed, numbered from each user's one sequence as before (old positions stay valid), in two
-- tables. `changes` keeps one row per task and list it is (or was) in, holding that task's
-- latest change there: a task moved out of a list leaves a tombstone there marked `moved` (a
-- delete for that list's own feed, `/v1/tasks/changes`; hidden from `/v1/changes`, where the
-- task's row in its new list says where it went). `list_changes` keeps one row per list: a
-- deleted list is one tombstone there, and its tasks' rows go.
CREATE TABLE changes_next (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,   -- whose feed
    list_id INTEGER NOT NULL,
    task_id INTEGER NOT NULL,             -- task ids are never reused (AUTOINCREMENT)
    seq     INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    moved   INTEGER NOT NULL DEFAULT 0 CHECK (moved IN (0, 1)),
    at      INTEGER NOT NULL,             -- unix milliseconds of the change
    PRIMARY KEY (user_id, list_id, task_id)
) STRICT, WITHOUT ROWID;
INSERT INTO changes_next (user_id, list_id, task_id, seq, deleted, at)
    SELECT c.user_id, u.default_list_id, c.task_id, c.seq, c.deleted, c.at
    FROM changes c JOIN users u ON u.id = c.user_id;
DROP TABLE changes;
ALTER TABLE changes_next RENAME TO changes;
-- A feed page is a range read of this index, the same cost however long the history.
CREATE UNIQUE INDEX changes_by_seq ON changes(user_id, seq);
-- One list's feed (`/v1/tasks/changes`) is a range read of its own: filtering the user's whole
-- feed by list cost a default list beside a 100k-task list 1.5 s a page (bench: lists, issue 24).
CREATE UNIQUE INDEX changes_by_list ON changes(user_id, list_id, seq);
CREATE INDEX tombstones_by_age ON changes(at) WHERE deleted = 1;

CREATE TABLE list_changes (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,   -- whose feed
    list_id INTEGER NOT NULL,             -- list ids are never reused (AUTOINCREMENT)
    seq     INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    at      INTEGER NOT NULL,
    PRIMARY KEY (user_id, list_id)
) STRICT, WITHOUT ROWID;
CREATE UNIQUE INDEX list_changes_by_seq ON list_changes(user_id, seq);
CREATE INDEX list_tombstones_by_age ON list_changes(at) WHERE deleted = 1;

-- Each default list enters its owner's feed after everything already there.
UPDATE users SET change_seq = change_seq + 1;
INSERT INTO list_changes (user_id, list_id, seq, at)
    SELECT id, default_list_id, change_seq, created_at FROM users;

CREATE TRIGGER tasks_change_insert AFTER INSERT ON tasks
BEGIN
    UPDATE users SET change_seq = change_seq + 1 WHERE id = NEW.user_id;
    INSERT INTO changes (user_id, list_id, task_id, seq, at)
        SELECT NEW.user_id, NEW.list_id, NEW.id, change_seq, NEW.updated_at
        FROM users WHERE id = NEW.user_id;
END;
-- Every change a user can see bumps the version: edits, moves, sorts, respaced keys. A move to
-- another list is the trigger after this one's.
CREATE TRIGGER tasks_change_update AFTER UPDATE OF version ON tasks
    WHEN NEW.version <> OLD.version AND NEW.list_id = OLD.list_id
BEGIN
    UPDATE users SET change_seq = change_seq + 1 WHERE id = NEW.user_id;
    UPDATE changes SET seq = (SELECT change_seq FROM users WHERE id = NEW.user_id),
                       at = NEW.updated_at
    WHERE user_id = NEW.user_id AND list_id = NEW.list_id AND task_id = NEW.id;
END;
CREATE TRIGGER tasks_change_list AFTER UPDATE OF list_id ON tasks
    WHEN NEW.list_id <> OLD.list_id
BEGIN
    UPDATE users SET change_seq = change_seq + 1 WHERE id = OLD.user_id;
    UPDATE changes SET seq = (SELECT change_seq FROM users WHERE id = OLD.user_id),
                       deleted = 1, moved = 1, at = NEW.updated_at
    WHERE user_id = OLD.user_id AND list_id = OLD.list_id AND task_id = OLD.id;
    -- Back into a list it once left: its tombstone there becomes the live row again.
    DELETE FROM changes
    WHERE user_id = NEW.user_id AND list_id = NEW.list_id AND task_id = NEW.id;
    UPDATE users SET change_seq = change_seq + 1 WHERE id = NEW.user_id;
    INSERT INTO changes (user_id, list_id, task_id, seq, at)
        SELECT NEW.user_id, NEW.list_id, NEW.id, change_seq, NEW.updated_at
        FROM users WHERE id = NEW.user_id;
END;
-- Not when its list is being deleted (so is the account's, with its lists): the list's one
-- tombstone stands for all its tasks.
CREATE TRIGGER tasks_change_delete AFTER DELETE ON tasks
    WHEN EXISTS (SELECT 1 FROM lists WHERE id = OLD.list_id)
BEGIN
    UPDATE users SET change_seq = change_seq + 1 WHERE id = OLD.user_id;
    UPDATE changes SET seq = (SELECT change_seq FROM users WHERE id = OLD.user_id),
                       deleted = 1, moved = 0,
                       at = CAST(unixepoch('subsec') * 1000 AS INTEGER)
    WHERE user_id = OLD.user_id AND list_id = OLD.list_id AND task_id = OLD.id;
END;

CREATE TRIGGER lists_change_insert AFTER INSERT ON lists
BEGIN
    UPDATE users SET change_seq = change_seq + 1 WHERE id = NEW.owner_id;
    INSERT INTO list_changes (user_id, list_id, seq, at)
        SELECT NEW.owner_id, NEW.id, change_seq, NEW.updated_at FROM users WHERE id = NEW.owner_id;
END;
-- Only a change the owner made (a rename) bumps the version, not its counters.
CREATE TRIGGER lists_change_update AFTER UPDATE OF version ON lists
    WHEN NEW.version <> OLD.version
BEGIN
    UPDATE users SET change_seq = change_seq + 1 WHERE id = NEW.owner_id;
    UPDATE list_changes SET seq = (SELECT change_seq FROM users WHERE id = NEW.owner_id),
                            at = NEW.updated_at
    WHERE user_id = NEW.owner_id AND list_id = NEW.id;
END;
CREATE TRIGGER lists_change_delete AFTER DELETE ON lists
    WHEN EXISTS (SELECT 1 FROM users WHERE id = OLD.owner_id)
BEGIN
    DELETE FROM changes WHERE user_id = OLD.owner_id AND list_id = OLD.id;
    UPDATE users SET change_seq = change_seq + 1 WHERE id = OLD.owner_id;
    UPDATE list_changes SET seq = (SELECT change_seq FROM users WHERE id = OLD.owner_id),
                            deleted = 1,
                            at = CAST(unixepoch('subsec') * 1000 AS INTEGER)
    WHERE user_id = OLD.owner_id AND list_id = OLD.id;
END;
