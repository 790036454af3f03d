-- Kept answers stored compressed (`answer`: LZ4, src/store/answers.rs), each row's size in
-- `stored_bytes` (its key, fingerprint, claim, compressed answer and Location), and each user's
-- total in `users.kept_answer_bytes`, kept by triggers as task_count is: the quota check before
-- a keyed write reads one row, however many answers the user keeps, and no path that adds or
-- deletes a row (a completed run, a release, the sweeper, an account's cascade) can leave it
-- out. Rows kept before this hold their answer uncompressed in `body`, which still replays.
ALTER TABLE idempotency_keys ADD COLUMN answer BLOB;
ALTER TABLE idempotency_keys ADD COLUMN stored_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN kept_answer_bytes INTEGER NOT NULL DEFAULT 0;

UPDATE idempotency_keys
   SET stored_bytes = length(CAST(key AS BLOB)) + length(fingerprint) + length(CAST(claim AS BLOB))
                    + coalesce(length(CAST(body AS BLOB)), 0) + coalesce(length(CAST(location AS BLOB)), 0)
 WHERE status IS NOT NULL;
UPDATE users SET kept_answer_bytes =
    (SELECT coalesce(sum(k.stored_bytes), 0) FROM idempotency_keys k WHERE k.user_id = users.id);

-- A user's answers by age: the ones past their day the sweeper has not yet deleted, and the
-- oldest, whose expiry a refusal's Retry-After names. stored_bytes makes it cover both.
CREATE INDEX idempotency_keys_by_user_age ON idempotency_keys(user_id, claimed_at, stored_bytes);

CREATE TRIGGER idempotency_keys_bytes_added AFTER INSERT ON idempotency_keys
WHEN NEW.stored_bytes <> 0
BEGIN
    UPDATE users SET kept_answer_bytes = kept_answer_bytes + NEW.stored_bytes WHERE id = NEW.user_id;
END;
CREATE TRIGGER idempotency_keys_bytes_changed AFTER UPDATE OF stored_bytes ON idempotency_keys
WHEN NEW.stored_bytes <> OLD.stored_bytes
BEGIN
    UPDATE users SET kept_answer_bytes = kept_answer_bytes - OLD.stored_bytes + NEW.stored_bytes
     WHERE id = NEW.user_id;
END;
CREATE TRIGGER idempotency_keys_bytes_removed AFTER DELETE ON idempotency_keys
WHEN OLD.stored_bytes <> 0
BEGIN
    UPDATE users SET kept_answer_bytes = kept_answer_bytes - OLD.stored_bytes WHERE id = OLD.user_id;
END;
