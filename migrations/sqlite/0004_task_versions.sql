-- Every task carries a version: 1 at creation, one more at every change (edit, move, sort,
-- respacing of keys). Clients send it back in If-Match so that two devices editing one task
-- cannot overwrite each other unseen.
ALTER TABLE tasks ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
