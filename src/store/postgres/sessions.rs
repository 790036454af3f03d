//! The `sessions` table: only keyed hashes of tokens are stored.

use super::PgTx;
use crate::store::rows::{
    Device, LiveSession, RefreshState, Revoked, SessionRow, SignInRow, StoredChain, hash32,
};
use crate::store::{Sessions, StoreError};
use async_trait::async_trait;
use tokio_postgres::Row;

fn into_revoked(row: &Row) -> Result<Revoked, StoreError> {
    Ok(Revoked {
        token_hash: hash32(row.try_get(0)?, "token hash")?,
        expires_at_ms: row.try_get(1)?,
    })
}

#[async_trait]
impl Sessions for PgTx<'_> {
    async fn insert_session(
        &mut self,
        token_hash: &[u8; 32],
        row: &SessionRow,
        device: &Device,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO sessions (token_hash, public_id, user_id, issued_at, expires_at, user_agent, address,
                                   last_used_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $4)",
            &[
                &token_hash.as_slice(),
                &row.id,
                &row.user_id,
                &row.issued_at_ms,
                &row.expires_at_ms,
                &device.user_agent,
                &device.address,
            ],
        )
        .await?;
        Ok(())
    }

    async fn session(&mut self, token_hash: &[u8; 32]) -> Result<Option<SessionRow>, StoreError> {
        let row = self
            .opt(
                "SELECT s.public_id, s.user_id, u.email, s.issued_at, s.expires_at,
                        s.revoked_at IS NOT NULL, COALESCE(s.refresh_expires_at, s.expires_at),
                        u.default_list_id
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = $1",
                &[&token_hash.as_slice()],
            )
            .await?;
        row.map(|r| {
            Ok(SessionRow {
                id: r.try_get(0)?,
                user_id: r.try_get(1)?,
                email: r.try_get(2)?,
                default_list_id: r.try_get(7)?,
                issued_at_ms: r.try_get(3)?,
                expires_at_ms: r.try_get(4)?,
                ends_at_ms: r.try_get(6)?,
                revoked: r.try_get(5)?,
            })
        })
        .transpose()
    }

    async fn revoke_session(
        &mut self,
        token_hash: &[u8; 32],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE sessions SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL",
            &[&token_hash.as_slice(), &now_ms],
        )
        .await?;
        Ok(())
    }

    async fn live_sessions(
        &mut self,
        user_id: i64,
        now_ms: i64,
    ) -> Result<Vec<LiveSession>, StoreError> {
        let rows = self
            .all(
                "SELECT public_id, issued_at, COALESCE(refresh_expires_at, expires_at), user_agent,
                        address, COALESCE(last_used_at, issued_at)
                 FROM sessions
                 WHERE user_id = $1 AND revoked_at IS NULL
                   AND COALESCE(refresh_expires_at, expires_at) > $2
                 ORDER BY issued_at, public_id",
                &[&user_id, &now_ms],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(LiveSession {
                    id: r.try_get(0)?,
                    issued_at_ms: r.try_get(1)?,
                    expires_at_ms: r.try_get(2)?,
                    last_used_at_ms: r.try_get(5)?,
                    device: Device {
                        user_agent: r.try_get(3)?,
                        address: r.try_get(4)?,
                    },
                })
            })
            .collect()
    }

    async fn revoke_session_by_id(
        &mut self,
        user_id: i64,
        id: &str,
        now_ms: i64,
    ) -> Result<Option<Revoked>, StoreError> {
        let row = self
            .opt(
                "UPDATE sessions SET revoked_at = $3
                 WHERE user_id = $1 AND public_id = $2 AND revoked_at IS NULL
                   AND COALESCE(refresh_expires_at, expires_at) > $3
                 RETURNING token_hash, expires_at",
                &[&user_id, &id, &now_ms],
            )
            .await?;
        row.as_ref().map(into_revoked).transpose()
    }

    async fn revoke_sessions_of(
        &mut self,
        user_id: i64,
        except: Option<&[u8; 32]>,
        now_ms: i64,
    ) -> Result<Vec<Revoked>, StoreError> {
        let rows = self
            .all(
                "UPDATE sessions SET revoked_at = $3
                 WHERE user_id = $1 AND revoked_at IS NULL
                   AND COALESCE(refresh_expires_at, expires_at) > $3 AND issued_at <= $3 AND ($2::bytea IS NULL OR token_hash <> $2)
                 RETURNING token_hash, expires_at",
                &[&user_id, &except.map(|h| h.as_slice()), &now_ms],
            )
            .await?;
        rows.iter().map(into_revoked).collect()
    }

    async fn delete_expired_sessions(&mut self, before_ms: i64) -> Result<usize, StoreError> {
        self.exec(
            "DELETE FROM sessions WHERE COALESCE(refresh_expires_at, expires_at) < $1",
            &[&before_ms],
        )
        .await
    }

    async fn sign_in(
        &mut self,
        id: &str,
        for_update: bool,
    ) -> Result<Option<SignInRow>, StoreError> {
        const SELECT: &str = "SELECT public_id, user_id, token_hash, issued_at, expires_at,
                    revoked_at IS NOT NULL, generation, refresh_hash, parent_hash, grand_hash,
                    rotated_at, parent_rotated_at, refresh_expires_at, max_age_at,
                    pair_for_parent, pair_for_grand, parent_key_wrap
             FROM sessions WHERE public_id = $1";
        // Two refreshes of one sign-in on two processes take turns.
        let sql = if for_update {
            format!("{SELECT} FOR UPDATE")
        } else {
            SELECT.to_owned()
        };
        let Some(r) = self.opt(&sql, &[&id]).await? else {
            return Ok(None);
        };
        let chain = StoredChain {
            generation: r.try_get(6)?,
            refresh_hash: r.try_get(7)?,
            parent_hash: r.try_get(8)?,
            grand_hash: r.try_get(9)?,
            rotated_at: r.try_get(10)?,
            parent_rotated_at: r.try_get(11)?,
            refresh_expires_at: r.try_get(12)?,
            max_age_at: r.try_get(13)?,
            pair_for_parent: r.try_get(14)?,
            pair_for_grand: r.try_get(15)?,
            parent_key_wrap: r.try_get(16)?,
        };
        Ok(Some(SignInRow {
            id: r.try_get(0)?,
            user_id: r.try_get(1)?,
            token_hash: hash32(r.try_get(2)?, "token hash")?,
            issued_at_ms: r.try_get(3)?,
            expires_at_ms: r.try_get(4)?,
            revoked: r.try_get(5)?,
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
        self.exec(
            "UPDATE sessions SET token_hash = $2, expires_at = $3, generation = $4,
                    refresh_hash = $5, parent_hash = $6, grand_hash = $7, rotated_at = $8,
                    parent_rotated_at = $9, refresh_expires_at = $10, max_age_at = $11,
                    last_used_at = $12, pair_for_parent = $13, pair_for_grand = $14,
                    parent_key_wrap = $15
             WHERE public_id = $1",
            &[
                &id,
                &token_hash.as_slice(),
                &expires_at_ms,
                &refresh.generation,
                &refresh.refresh_hash.as_slice(),
                &hash(&refresh.parent_hash),
                &hash(&refresh.grand_hash),
                &refresh.rotated_at_ms,
                &refresh.parent_rotated_at_ms,
                &refresh.refresh_expires_at_ms,
                &refresh.max_age_at_ms,
                &now_ms,
                &refresh.pair_for_parent,
                &refresh.pair_for_grand,
                &refresh.parent_key_wrap,
            ],
        )
        .await?;
        Ok(())
    }

    async fn touch_sign_in(&mut self, id: &str, now_ms: i64) -> Result<(), StoreError> {
        self.exec(
            "UPDATE sessions SET last_used_at = $2 WHERE public_id = $1",
            &[&id, &now_ms],
        )
        .await?;
        Ok(())
    }
}
