-- Sign-ins that last (refresh tokens): the same columns as SQLite's 0011 (the reasons are
-- there). A sign-in lives until COALESCE(refresh_expires_at, expires_at).
ALTER TABLE sessions ADD COLUMN generation BIGINT NOT NULL DEFAULT 0,
                     ADD COLUMN refresh_hash BYTEA,
                     ADD COLUMN parent_hash BYTEA,
                     ADD COLUMN grand_hash BYTEA,
                     ADD COLUMN rotated_at BIGINT,
                     ADD COLUMN parent_rotated_at BIGINT,
                     ADD COLUMN refresh_expires_at BIGINT,
                     ADD COLUMN max_age_at BIGINT,
                     ADD COLUMN last_used_at BIGINT,
                     ADD COLUMN pair_for_parent BYTEA,
                     ADD COLUMN pair_for_grand BYTEA,
                     ADD COLUMN parent_key_wrap BYTEA;
CREATE INDEX sessions_end ON sessions ((COALESCE(refresh_expires_at, expires_at)));
