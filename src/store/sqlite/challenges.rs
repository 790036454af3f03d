//! The `challenges` table: codes sent by email, waiting to be entered.

use super::SqliteTx;
use crate::store::rows::{Challenge, Purpose, hash32};
use crate::store::{Challenges, StoreError};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

#[async_trait]
impl Challenges for SqliteTx<'_> {
    async fn insert_challenge(&mut self, id: &str, c: &Challenge) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO challenges (id, purpose, user_id, email, code_hash, attempts_left, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                id,
                c.purpose.as_str(),
                c.user_id,
                c.email,
                c.code_hash.as_slice(),
                c.attempts_left,
                c.expires_at_ms
            ],
        )?;
        Ok(())
    }

    // The writer thread runs one transaction at a time: the row needs no lock of its own.
    async fn challenge(&mut self, id: &str) -> Result<Option<Challenge>, StoreError> {
        let row = self
            .conn()
            .query_row(
                "SELECT purpose, user_id, email, code_hash, attempts_left, expires_at
                 FROM challenges WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<i64>>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Vec<u8>>(3)?,
                        r.get::<_, u32>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                },
            )
            .optional()?;
        row.map(
            |(purpose, user_id, email, hash, attempts_left, expires_at_ms)| {
                Ok(Challenge {
                    purpose: Purpose::parse(&purpose)?,
                    user_id,
                    email,
                    code_hash: hash32(hash, "challenge hash")?,
                    attempts_left,
                    expires_at_ms,
                })
            },
        )
        .transpose()
    }

    async fn set_attempts_left(&mut self, id: &str, attempts_left: u32) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE challenges SET attempts_left = ?2 WHERE id = ?1",
            params![id, attempts_left],
        )?;
        Ok(())
    }

    async fn end_challenges_of(
        &mut self,
        user_id: i64,
        purpose: Option<Purpose>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE challenges SET expires_at = ?2
             WHERE user_id = ?1 AND expires_at > ?2 AND (?3 IS NULL OR purpose = ?3)",
            params![user_id, now_ms, purpose.map(Purpose::as_str)],
        )?;
        Ok(())
    }

    async fn delete_challenge(&mut self, id: &str) -> Result<(), StoreError> {
        self.conn()
            .execute("DELETE FROM challenges WHERE id = ?1", [id])?;
        Ok(())
    }

    async fn delete_expired_challenges(&mut self, before_ms: i64) -> Result<usize, StoreError> {
        Ok(self
            .conn()
            .execute("DELETE FROM challenges WHERE expires_at < ?1", [before_ms])?)
    }
}
