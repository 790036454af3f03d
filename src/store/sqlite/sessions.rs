//! The `sessions` table: only keyed hashes of tokens are stored.

use super::SqliteTx;
use crate::store::rows::SessionRow;
use crate::store::{Sessions, StoreError};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

#[async_trait]
impl Sessions for SqliteTx<'_> {
    async fn insert_session(
        &mut self,
        token_hash: &[u8; 32],
        row: &SessionRow,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO sessions (token_hash, user_id, issued_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![
                token_hash.as_slice(),
                row.user_id,
                row.issued_at_ms,
                row.expires_at_ms
            ],
        )?;
        Ok(())
    }

    async fn session(&mut self, token_hash: &[u8; 32]) -> Result<Option<SessionRow>, StoreError> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT s.user_id, u.email, s.issued_at, s.expires_at, s.revoked_at IS NOT NULL
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = ?1",
            )?
            .query_row([token_hash.as_slice()], |r| {
                Ok(SessionRow {
                    user_id: r.get(0)?,
                    email: r.get(1)?,
                    issued_at_ms: r.get(2)?,
                    expires_at_ms: r.get(3)?,
                    revoked: r.get(4)?,
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

    async fn delete_expired_sessions(&mut self, before_ms: i64) -> Result<usize, StoreError> {
        Ok(self
            .conn()
            .execute("DELETE FROM sessions WHERE expires_at < ?1", [before_ms])?)
    }
}
