-- Kept answers stored compressed, with each row's size and each user's total kept by a
-- trigger (same as SQLite's 0010; the reasons are there). `answer` is already compressed:
-- EXTERNAL spares PostgreSQL trying to compress it again.
ALTER TABLE idempotency_keys ADD COLUMN answer BYTEA,
                             ADD COLUMN stored_bytes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE idempotency_keys ALTER COLUMN answer SET STORAGE EXTERNAL;
ALTER TABLE users ADD COLUMN kept_answer_bytes BIGINT NOT NULL DEFAULT 0;

UPDATE idempotency_keys
   SET stored_bytes = octet_length(key) + octet_length(fingerprint) + octet_length(claim)
                    + coalesce(octet_length(body), 0) + coalesce(octet_length(location), 0)
 WHERE status IS NOT NULL;
UPDATE users SET kept_answer_bytes =
    (SELECT coalesce(sum(k.stored_bytes), 0) FROM idempotency_keys k WHERE k.user_id = users.id);

CREATE INDEX idempotency_keys_by_user_age ON idempotency_keys(user_id, claimed_at, stored_bytes);

CREATE FUNCTION listo_count_kept_bytes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Not found when the account itself is being deleted: its total goes with it.
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.stored_bytes <> 0 THEN
        UPDATE users SET kept_answer_bytes = kept_answer_bytes - OLD.stored_bytes
         WHERE id = OLD.user_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.stored_bytes <> 0 THEN
        UPDATE users SET kept_answer_bytes = kept_answer_bytes + NEW.stored_bytes
         WHERE id = NEW.user_id;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER idempotency_keys_count_bytes
    AFTER INSERT OR DELETE OR UPDATE OF stored_bytes ON idempotency_keys
    FOR EACH ROW EXECUTE FUNCTION listo_count_kept_bytes();
