//! The `mail_queue` table: password-reset emails waiting to be sent.

use super::SqliteTx;
use crate::store::rows::{Challenge, Purpose, hash32};
use crate::store::{MailQueue, QueuedMail, StoreError};
use async_trait::async_trait;
use rusqlite::params;

#[async_trait]
impl MailQueue for SqliteTx<'_> {
    async fn queue_mail(&mut self, challenge_id: &str, now_ms: i64) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO mail_queue (challenge_id, next_at, queued_at) VALUES (?1, ?2, ?2)",
            params![challenge_id, now_ms],
        )?;
        Ok(())
    }

    async fn next_mail_due(&mut self) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT min(next_at) FROM mail_queue", [], |r| r.get(0))?)
    }

    // One process owns the file and the writer runs one transaction at a time: pushing
    // `next_at` past the send is claim enough.
    async fn claim_mails(
        &mut self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: u32,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        let conn = self.conn();
        let mut due = conn.prepare_cached(
            "SELECT m.challenge_id, m.attempts,
                    c.purpose, c.user_id, c.email, c.code_hash, c.attempts_left, c.expires_at
             FROM mail_queue m LEFT JOIN challenges c ON c.id = m.challenge_id
             WHERE m.next_at <= ?1
             ORDER BY m.next_at
             LIMIT ?2",
        )?;
        let rows = due
            .query_map(params![now_ms, limit], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, u32>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<Vec<u8>>>(5)?,
                    r.get::<_, Option<u32>>(6)?,
                    r.get::<_, Option<i64>>(7)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut claim = conn.prepare_cached(
            "UPDATE mail_queue SET next_at = ?2, attempts = attempts + 1 WHERE challenge_id = ?1",
        )?;
        let mut claimed = Vec::with_capacity(rows.len());
        for (id, attempts, purpose, user_id, email, hash, attempts_left, expires_at) in rows {
            claim.execute(params![id, lease_until_ms])?;
            let challenge = match (purpose, hash, attempts_left, expires_at) {
                (Some(purpose), Some(hash), Some(attempts_left), Some(expires_at_ms)) => {
                    Some(Challenge {
                        purpose: Purpose::parse(&purpose)?,
                        user_id,
                        email,
                        code_hash: hash32(hash, "challenge hash")?,
                        attempts_left,
                        expires_at_ms,
                    })
                }
                _ => None,
            };
            claimed.push(QueuedMail {
                challenge_id: id,
                attempts: attempts + 1,
                challenge,
            });
        }
        Ok(claimed)
    }

    async fn retry_mail(&mut self, challenge_id: &str, due_ms: i64) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE mail_queue SET next_at = ?2 WHERE challenge_id = ?1",
            params![challenge_id, due_ms],
        )?;
        Ok(())
    }

    async fn delete_mail(&mut self, challenge_id: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "DELETE FROM mail_queue WHERE challenge_id = ?1",
            [challenge_id],
        )?;
        Ok(())
    }
}
