//! The `challenges` table: logins waiting for their emailed code.

use super::PgTx;
use crate::store::rows::{Challenge, hash32};
use crate::store::{Challenges, StoreError};
use async_trait::async_trait;

#[async_trait]
impl Challenges for PgTx<'_> {
    async fn insert_challenge(&mut self, id: &str, c: &Challenge) -> Result<(), StoreError> {
        let attempts = i32::try_from(c.attempts_left)
            .map_err(|_| StoreError::Corrupt("attempts out of range".into()))?;
        self.exec(
            "INSERT INTO challenges (id, user_id, code_hash, attempts_left, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &id,
                &c.user_id,
                &c.code_hash.as_slice(),
                &attempts,
                &c.expires_at_ms,
            ],
        )
        .await?;
        Ok(())
    }

    // FOR UPDATE: two verifies of one challenge, on any process, take turns.
    async fn challenge(&mut self, id: &str) -> Result<Option<Challenge>, StoreError> {
        let row = self
            .opt(
                "SELECT user_id, code_hash, attempts_left, expires_at FROM challenges
                 WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .await?;
        row.map(|r| {
            Ok(Challenge {
                user_id: r.try_get(0)?,
                code_hash: hash32(r.try_get(1)?, "challenge hash")?,
                attempts_left: u32::try_from(r.try_get::<_, i32>(2)?)
                    .map_err(|_| StoreError::Corrupt("negative attempts".into()))?,
                expires_at_ms: r.try_get(3)?,
            })
        })
        .transpose()
    }

    async fn set_attempts_left(&mut self, id: &str, attempts_left: u32) -> Result<(), StoreError> {
        let attempts = i32::try_from(attempts_left)
            .map_err(|_| StoreError::Corrupt("attempts out of range".into()))?;
        self.exec(
            "UPDATE challenges SET attempts_left = $2 WHERE id = $1",
            &[&id, &attempts],
        )
        .await?;
        Ok(())
    }

    async fn end_challenges_of(&mut self, user_id: i64, now_ms: i64) -> Result<(), StoreError> {
        self.exec(
            "UPDATE challenges SET expires_at = $2 WHERE user_id = $1 AND expires_at > $2",
            &[&user_id, &now_ms],
        )
        .await?;
        Ok(())
    }

    async fn delete_challenge(&mut self, id: &str) -> Result<(), StoreError> {
        self.exec("DELETE FROM challenges WHERE id = $1", &[&id])
            .await?;
        Ok(())
    }

    async fn delete_expired_challenges(&mut self, before_ms: i64) -> Result<usize, StoreError> {
        self.exec(
            "DELETE FROM challenges WHERE expires_at < $1",
            &[&before_ms],
        )
        .await
    }
}
