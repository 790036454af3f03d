//! The `sessions` table: only keyed hashes of tokens are stored.

use super::SqliteTx;
use crate::store::rows::{Device, LiveSession, Revoked, SessionRow, hash32};
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
            "INSERT INTO sessions (token_hash, public_id, user_id, issued_at, expires_at, user_agent, address)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
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
                        s.revoked_at IS NOT NULL
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = ?1",
            )?
            .query_row([token_hash.as_slice()], |r| {
                Ok(SessionRow {
                    id: r.get(0)?,
                    user_id: r.get(1)?,
                    email: r.get(2)?,
                    issued_at_ms: r.get(3)?,
                    expires_at_ms: r.get(4)?,
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
            "SELECT public_id, issued_at, expires_at, user_agent, address FROM sessions
             WHERE user_id = ?1 AND revoked_at IS NULL AND expires_at > ?2
             ORDER BY issued_at, public_id",
        )?;
        let rows = stmt.query_map(params![user_id, now_ms], |r| {
            Ok(LiveSession {
                id: r.get(0)?,
                issued_at_ms: r.get(1)?,
                expires_at_ms: r.get(2)?,
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
                 WHERE user_id = ?1 AND public_id = ?2 AND revoked_at IS NULL AND expires_at > ?3
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
             WHERE user_id = ?1 AND revoked_at IS NULL AND expires_at > ?3
               AND issued_at <= ?3 AND (?2 IS NULL OR token_hash <> ?2)
             RETURNING token_hash, expires_at",
        )?;
        let rows = stmt.query_map(
            params![user_id, except.map(|h| h.as_slice()), now_ms],
            revoked,
        )?;
        rows.map(|r| into_revoked(r?)).collect()
    }

    async fn delete_expired_sessions(&mut self, before_ms: i64) -> Result<usize, StoreError> {
        Ok(self
            .conn()
            .execute("DELETE FROM sessions WHERE expires_at < ?1", [before_ms])?)
    }
}
