//! The `mail_queue` table: password-reset emails waiting to be sent, by any process.

use super::PgTx;
use crate::store::rows::{Challenge, Purpose, hash32};
use crate::store::{MailQueue, QueuedMail, StoreError};
use async_trait::async_trait;

#[async_trait]
impl MailQueue for PgTx<'_> {
    async fn queue_mail(&mut self, challenge_id: &str, now_ms: i64) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO mail_queue (challenge_id, next_at, queued_at) VALUES ($1, $2, $2)",
            &[&challenge_id, &now_ms],
        )
        .await?;
        Ok(())
    }

    async fn next_mail_due(&mut self) -> Result<Option<i64>, StoreError> {
        let row = self.opt("SELECT min(next_at) FROM mail_queue", &[]).await?;
        Ok(match row {
            Some(r) => r.try_get(0)?,
            None => None,
        })
    }

    // SKIP LOCKED: rows another process is claiming this moment are left to it instead of
    // waited for; once its claim commits, their lease keeps them from being due here.
    async fn claim_mails(
        &mut self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: u32,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        let rows = self
            .all(
                "WITH due AS (
                     SELECT challenge_id FROM mail_queue
                     WHERE next_at <= $1
                     ORDER BY next_at
                     LIMIT $3
                     FOR UPDATE SKIP LOCKED
                 )
                 UPDATE mail_queue m SET next_at = $2, attempts = m.attempts + 1
                 FROM due LEFT JOIN challenges c ON c.id = due.challenge_id
                 WHERE m.challenge_id = due.challenge_id
                 RETURNING m.challenge_id, m.attempts,
                           c.purpose, c.user_id, c.email, c.code_hash, c.attempts_left,
                           c.expires_at",
                &[&now_ms, &lease_until_ms, &i64::from(limit)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let purpose: Option<&str> = r.try_get(2)?;
                let hash: Option<Vec<u8>> = r.try_get(5)?;
                let attempts_left: Option<i32> = r.try_get(6)?;
                let expires_at: Option<i64> = r.try_get(7)?;
                let challenge = match (purpose, hash, attempts_left, expires_at) {
                    (Some(purpose), Some(hash), Some(left), Some(expires_at_ms)) => {
                        Some(Challenge {
                            purpose: Purpose::parse(purpose)?,
                            user_id: r.try_get(3)?,
                            email: r.try_get(4)?,
                            code_hash: hash32(hash, "challenge hash")?,
                            attempts_left: u32::try_from(left)
                                .map_err(|_| StoreError::corrupt("negative attempts"))?,
                            expires_at_ms,
                        })
                    }
                    _ => None,
                };
                Ok(QueuedMail {
                    challenge_id: r.try_get(0)?,
                    attempts: u32::try_from(r.try_get::<_, i32>(1)?)
                        .map_err(|_| StoreError::corrupt("negative mail attempts"))?,
                    challenge,
                })
            })
            .collect()
    }

    async fn retry_mail(&mut self, challenge_id: &str, due_ms: i64) -> Result<(), StoreError> {
        self.exec(
            "UPDATE mail_queue SET next_at = $2 WHERE challenge_id = $1",
            &[&challenge_id, &due_ms],
        )
        .await?;
        Ok(())
    }

    async fn delete_mail(&mut self, challenge_id: &str) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM mail_queue WHERE challenge_id = $1",
            &[&challenge_id],
        )
        .await?;
        Ok(())
    }
}
