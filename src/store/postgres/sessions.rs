//! The `sessions` table: only keyed hashes of tokens are stored.

use super::PgTx;
use crate::store::rows::{Device, LiveSession, Revoked, SessionRow, hash32};
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
            "INSERT INTO sessions (token_hash, public_id, user_id, issued_at, expires_at, user_agent, address)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
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
                        s.revoked_at IS NOT NULL
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
                issued_at_ms: r.try_get(3)?,
                expires_at_ms: r.try_get(4)?,
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
                "SELECT public_id, issued_at, expires_at, user_agent, address FROM sessions
                 WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
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
                 WHERE user_id = $1 AND public_id = $2 AND revoked_at IS NULL AND expires_at > $3
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
                 WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $3
                   AND issued_at <= $3 AND ($2::bytea IS NULL OR token_hash <> $2)
                 RETURNING token_hash, expires_at",
                &[&user_id, &except.map(|h| h.as_slice()), &now_ms],
            )
            .await?;
        rows.iter().map(into_revoked).collect()
    }

    async fn delete_expired_sessions(&mut self, before_ms: i64) -> Result<usize, StoreError> {
        self.exec("DELETE FROM sessions WHERE expires_at < $1", &[&before_ms])
            .await
    }
}
