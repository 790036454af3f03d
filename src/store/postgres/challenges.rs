//! The `challenges` table: codes sent by email, waiting to be entered.

use super::PgTx;
use crate::store::rows::{Challenge, Purpose, hash32};
use crate::store::{Challenges, StoreError};
use async_trait::async_trait;

fn attempts(n: u32) -> Result<i32, StoreError> {
    i32::try_from(n).map_err(|_| StoreError::corrupt("attempts out of range"))
}

#[async_trait]
impl Challenges for PgTx<'_> {
    async fn insert_challenge(&mut self, id: &str, c: &Challenge) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO challenges (id, purpose, user_id, email, code_hash, attempts_left, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &id,
                &c.purpose.as_str(),
                &c.user_id,
                &c.email,
                &c.code_hash.as_slice(),
                &attempts(c.attempts_left)?,
                &c.expires_at_ms,
            ],
        )
        .await?;
        Ok(())
    }

    // FOR UPDATE: two answers to one challenge, on any process, take turns.
    async fn challenge(&mut self, id: &str) -> Result<Option<Challenge>, StoreError> {
        let row = self
            .opt(
                "SELECT purpose, user_id, email, code_hash, attempts_left, expires_at
                 FROM challenges WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .await?;
        row.map(|r| {
            Ok(Challenge {
                purpose: Purpose::parse(r.try_get(0)?)?,
                user_id: r.try_get(1)?,
                email: r.try_get(2)?,
                code_hash: hash32(r.try_get(3)?, "challenge hash")?,
                attempts_left: u32::try_from(r.try_get::<_, i32>(4)?)
                    .map_err(|_| StoreError::corrupt("negative attempts"))?,
                expires_at_ms: r.try_get(5)?,
            })
        })
        .transpose()
    }

    async fn set_attempts_left(&mut self, id: &str, attempts_left: u32) -> Result<(), StoreError> {
        self.exec(
            "UPDATE challenges SET attempts_left = $2 WHERE id = $1",
            &[&id, &attempts(attempts_left)?],
        )
        .await?;
        Ok(())
    }

    async fn end_challenges_of(
        &mut self,
        user_id: i64,
        purpose: Option<Purpose>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE challenges SET expires_at = $2
             WHERE user_id = $1 AND expires_at > $2 AND ($3::text IS NULL OR purpose = $3)",
            &[&user_id, &now_ms, &purpose.map(Purpose::as_str)],
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
