//! The `sessions` table: only keyed hashes of tokens are stored.

use super::SqliteTx;
use crate::store::rows::{
    Device, LiveSession, RefreshState, Revoked, SessionRow, SignInRow, StoredChain, hash32,
};
use crate::store::{Sessions, StoreError};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

fn revoked(row: &rusqlite::Row<'_>) -> rusqlite::Result<(Vec<u8>, i64)> {
    Ok((row.get(0)?, row.get(1)?))
}

fn into_revoked((hash, expires_at_ms): (Vec<u8>, i64)) -> Result<Revoked, StoreError> {
    Ok(Revoked {
        token_hash: hash32(hash, "token hash")?,
        expires_at_ms,
    })
}

#[async_trait]
impl Sessions for SqliteTx<'_> {
    async fn insert_session(
        &mut self,
        token_hash: &[u8; 32],
        row: &SessionRow,
        device: &Device,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO sessions (token_hash, public_id, user_id, issued_at, expires_at, user_agent, address,
                                   last_used_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?4)",
            params![
                token_hash.as_slice(),
                row.id,
                row.user_id,
                row.issued_at_ms,
                row.expires_at_ms,
                device.user_agent,
                device.address
            ],
        )?;
        Ok(())
    }

    async fn session(&mut self, token_hash: &[u8; 32]) -> Result<Option<SessionRow>, StoreError> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT s.public_id, s.user_id, u.email, s.issued_at, s.expires_at,
                        s.revoked_at IS NOT NULL, COALESCE(s.refresh_expires_at, s.expires_at),
                        u.default_list_id
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = ?1",
            )?
            .query_row([token_hash.as_slice()], |r| {
                Ok(SessionRow {
                    id: r.get(0)?,
                    user_id: r.get(1)?,
                    email: r.get(2)?,
                    default_list_id: r.get(7)?,
                    issued_at_ms: r.get(3)?,
                    expires_at_ms: r.get(4)?,
                    ends_at_ms: r.get(6)?,
                    revoked: r.get(5)?,
                })
            })
            .optional()?)
    }

    async fn revoke_session(
        &mut self,
        token_hash: &[u8; 32],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE sessions SET revoked_at = ?2 WHERE token_hash = ?1 AND revoked_at IS NULL",
            params![token_hash.as_slice(), now_ms],
        )?;
        Ok(())
    }

    async fn live_sessions(
        &mut self,
        user_id: i64,
        now_ms: i64,
    ) -> Result<Vec<LiveSession>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT public_id, issued_at, COALESCE(refresh_expires_at, expires_at), user_agent,
                    address, COALESCE(last_used_at, issued_at)
             FROM sessions
             WHERE user_id = ?1 AND revoked_at IS NULL
               AND COALESCE(refresh_expires_at, expires_at) > ?2
             ORDER BY issued_at, public_id",
        )?;
        let rows = stmt.query_map(params![user_id, now_ms], |r| {
            Ok(LiveSession {
                id: r.get(0)?,
                issued_at_ms: r.get(1)?,
                expires_at_ms: r.get(2)?,
                last_used_at_ms: r.get(5)?,
                device: Device {
                    user_agent: r.get(3)?,
                    address: r.get(4)?,
                },
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    async fn revoke_session_by_id(
        &mut self,
        user_id: i64,
        id: &str,
        now_ms: i64,
    ) -> Result<Option<Revoked>, StoreError> {
        let row = self
            .conn()
            .query_row(
                "UPDATE sessions SET revoked_at = ?3
                 WHERE user_id = ?1 AND public_id = ?2 AND revoked_at IS NULL
                   AND COALESCE(refresh_expires_at, expires_at) > ?3
                 RETURNING token_hash, expires_at",
                params![user_id, id, now_ms],
                revoked,
            )
            .optional()?;
        row.map(into_revoked).transpose()
    }

    async fn revoke_sessions_of(
        &mut self,
        user_id: i64,
        except: Option<&[u8; 32]>,
        now_ms: i64,
    ) -> Result<Vec<Revoked>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "UPDATE sessions SET revoked_at = ?3
             WHERE user_id = ?1 AND revoked_at IS NULL
               AND COALESCE(refresh_expires_at, expires_at) > ?3 AND issued_at <= ?3 AND (?2 IS NULL OR token_hash <> ?2)
             RETURNING token_hash, expires_at",
        )?;
        let rows = stmt.query_map(
            params![user_id, except.map(|h| h.as_slice()), now_ms],
            revoked,
        )?;
        rows.map(|r| into_revoked(r?)).collect()
    }

    async fn delete_expired_sessions(&mut self, before_ms: i64) -> Result<usize, StoreError> {
        Ok(self.conn().execute(
            "DELETE FROM sessions WHERE COALESCE(refresh_expires_at, expires_at) < ?1",
            [before_ms],
        )?)
    }

    async fn sign_in(
        &mut self,
        id: &str,
        _for_update: bool,
    ) -> Result<Option<SignInRow>, StoreError> {
        // One writer: a write transaction already holds every row.
        let row = self
            .conn()
            .prepare_cached(
                "SELECT public_id, user_id, token_hash, issued_at, expires_at,
                        revoked_at IS NOT NULL, generation, refresh_hash, parent_hash, grand_hash,
                        rotated_at, parent_rotated_at, refresh_expires_at, max_age_at,
                        pair_for_parent, pair_for_grand, parent_key_wrap
                 FROM sessions WHERE public_id = ?1",
            )?
            .query_row([id], |r| {
                let head = (
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, bool>(5)?,
                );
                let chain = StoredChain {
                    generation: r.get(6)?,
                    refresh_hash: r.get(7)?,
                    parent_hash: r.get(8)?,
                    grand_hash: r.get(9)?,
                    rotated_at: r.get(10)?,
                    parent_rotated_at: r.get(11)?,
                    refresh_expires_at: r.get(12)?,
                    max_age_at: r.get(13)?,
                    pair_for_parent: r.get(14)?,
                    pair_for_grand: r.get(15)?,
                    parent_key_wrap: r.get(16)?,
                };
                Ok((head, chain))
            })
            .optional()?;
        let Some(((id, user_id, token_hash, issued, expires, revoked), chain)) = row else {
            return Ok(None);
        };
        Ok(Some(SignInRow {
            id,
            user_id,
            token_hash: hash32(token_hash, "token hash")?,
            issued_at_ms: issued,
            expires_at_ms: expires,
            revoked,
            refresh: chain.into_state()?,
        }))
    }

    async fn set_sign_in_tokens(
        &mut self,
        id: &str,
        token_hash: &[u8; 32],
        expires_at_ms: i64,
        refresh: &RefreshState,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let hash = |h: &Option<[u8; 32]>| h.map(|h| h.to_vec());
        self.conn().execute(
            "UPDATE sessions SET token_hash = ?2, expires_at = ?3, generation = ?4,
                    refresh_hash = ?5, parent_hash = ?6, grand_hash = ?7, rotated_at = ?8,
                    parent_rotated_at = ?9, refresh_expires_at = ?10, max_age_at = ?11,
                    last_used_at = ?12, pair_for_parent = ?13, pair_for_grand = ?14,
                    parent_key_wrap = ?15
             WHERE public_id = ?1",
            params![
                id,
                token_hash.as_slice(),
                expires_at_ms,
                refresh.generation,
                refresh.refresh_hash.as_slice(),
                hash(&refresh.parent_hash),
                hash(&refresh.grand_hash),
                refresh.rotated_at_ms,
                refresh.parent_rotated_at_ms,
                refresh.refresh_expires_at_ms,
                refresh.max_age_at_ms,
                now_ms,
                refresh.pair_for_parent,
                refresh.pair_for_grand,
                refresh.parent_key_wrap,
            ],
        )?;
        Ok(())
    }

    async fn touch_sign_in(&mut self, id: &str, now_ms: i64) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE sessions SET last_used_at = ?2 WHERE public_id = ?1",
            params![id, now_ms],
        )?;
        Ok(())
    }
}
