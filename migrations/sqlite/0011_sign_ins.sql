-- Sign-ins that last (refresh tokens): a `sessions` row is a whole sign-in, one verify and the
-- chain of refreshes after it. `token_hash` stays the current access token's hash (the primary
-- key: a refresh rewrites it), `expires_at` its expiry. With refresh tokens on, the row also
-- holds the generation (one more per refresh), the keyed hashes of the current refresh token, of
-- its parent and of its grandparent, when the current and the parent generation were issued
-- (the 10 s grace of spent tokens), the refresh expiry (sliding) and the absolute end counted
-- from the verify. Every token is random: no column is a usable token. The current pair is kept
-- only sealed under keys derived from the parent and the grandparent tokens (`pair_for_parent`,
-- `pair_for_grand`), with the parent's key sealed under the current token's
-- (`parent_key_wrap`): src/service/seal.rs says why.
-- A sign-in lives until COALESCE(refresh_expires_at, expires_at); rows from before have no
-- refresh token and live until their access token's expiry, as before.
ALTER TABLE sessions ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN refresh_hash BLOB;
ALTER TABLE sessions ADD COLUMN parent_hash BLOB;
ALTER TABLE sessions ADD COLUMN grand_hash BLOB;
ALTER TABLE sessions ADD COLUMN rotated_at INTEGER;
ALTER TABLE sessions ADD COLUMN parent_rotated_at INTEGER;
ALTER TABLE sessions ADD COLUMN refresh_expires_at INTEGER;
ALTER TABLE sessions ADD COLUMN max_age_at INTEGER;
ALTER TABLE sessions ADD COLUMN last_used_at INTEGER;
ALTER TABLE sessions ADD COLUMN pair_for_parent BLOB;
ALTER TABLE sessions ADD COLUMN pair_for_grand BLOB;
ALTER TABLE sessions ADD COLUMN parent_key_wrap BLOB;
CREATE INDEX sessions_end ON sessions(COALESCE(refresh_expires_at, expires_at));
