//! The `sessions` table: only keyed hashes of tokens are stored.

use super::PgTx;
use crate::store::rows::SessionRow;
use crate::store::{Sessions, StoreError};
use async_trait::async_trait;

#[async_trait]
impl Sessions for PgTx<'_> {
    async fn insert_session(
        &mut self,
        token_hash: &[u8; 32],
        row: &SessionRow,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO sessions (token_hash, user_id, issued_at, expires_at)
             VALUES ($1, $2, $3, $4)",
            &[
                &token_hash.as_slice(),
                &row.user_id,
                &row.issued_at_ms,
                &row.expires_at_ms,
            ],
        )
        .await?;
        Ok(())
    }

    async fn session(&mut self, token_hash: &[u8; 32]) -> Result<Option<SessionRow>, StoreError> {
        let row = self
            .opt(
                "SELECT s.user_id, u.email, s.issued_at, s.expires_at, s.revoked_at IS NOT NULL
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = $1",
                &[&token_hash.as_slice()],
            )
            .await?;
        row.map(|r| {
            Ok(SessionRow {
                user_id: r.try_get(0)?,
                email: r.try_get(1)?,
                issued_at_ms: r.try_get(2)?,
                expires_at_ms: r.try_get(3)?,
                revoked: r.try_get(4)?,
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

    async fn delete_expired_sessions(&mut self, before_ms: i64) -> Result<usize, StoreError> {
        self.exec("DELETE FROM sessions WHERE expires_at < $1", &[&before_ms])
            .await
    }
}
