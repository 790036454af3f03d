-- Every task carries a version: 1 at creation, one more at every change (edit, move, sort,
-- respacing of keys). (Same as SQLite's 0004.)
ALTER TABLE tasks ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
