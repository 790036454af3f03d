//! The `idempotency_keys` table.

use super::SqliteTx;
use crate::store::answers::{pack, unpack};
use crate::store::rows::{IdempotencyRecord, StoredResponse, hash32};
use crate::store::{Idempotency, StoreError};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

/// fingerprint, claim, claimed_at, status, body (kept before answers were compressed),
/// location, answer (compressed).
type Raw = (
    Vec<u8>,
    String,
    i64,
    Option<u16>,
    Option<String>,
    Option<String>,
    Option<Vec<u8>>,
);

#[async_trait]
impl Idempotency for SqliteTx<'_> {
    // The writer thread runs one transaction at a time: the row needs no lock of its own.
    async fn idempotency_record(
        &mut self,
        user_id: i64,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let row: Option<Raw> = self
            .conn()
            .prepare_cached(
                "SELECT fingerprint, claim, claimed_at, status, body, location, answer
                 FROM idempotency_keys WHERE user_id = ?1 AND key = ?2",
            )?
            .query_row(params![user_id, key], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })
            .optional()?;
        let Some((fingerprint, claim, claimed_at_ms, status, body, location, answer)) = row else {
            return Ok(None);
        };
        let body = match (answer, body) {
            (Some(packed), _) => Some(unpack(&packed)?),
            (None, body) => body,
        };
        Ok(Some(IdempotencyRecord {
            fingerprint: hash32(fingerprint, "request fingerprint")?,
            claim,
            claimed_at_ms,
            response: status.zip(body).map(|(status, body)| StoredResponse {
                status,
                body,
                location,
            }),
        }))
    }

    async fn claim_idempotency(
        &mut self,
        user_id: i64,
        key: &str,
        fingerprint: &[u8; 32],
        claim: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        // Taking over a stalled run starts afresh: nothing of it is kept.
        self.conn()
            .prepare_cached(
                "INSERT INTO idempotency_keys (user_id, key, fingerprint, claim, claimed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (user_id, key) DO UPDATE
                 SET claim = excluded.claim, claimed_at = excluded.claimed_at, status = NULL,
                     body = NULL, location = NULL, answer = NULL, stored_bytes = 0",
            )?
            .execute(params![user_id, key, fingerprint.as_slice(), claim, now_ms])?;
        Ok(())
    }

    async fn complete_idempotency(
        &mut self,
        user_id: i64,
        key: &str,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        // stored_bytes moves the user's total (a trigger).
        self.conn()
            .prepare_cached(
                "UPDATE idempotency_keys
                 SET status = ?3, body = NULL, answer = ?4, location = ?5,
                     stored_bytes = length(CAST(key AS BLOB)) + length(fingerprint)
                         + length(CAST(claim AS BLOB)) + length(?4)
                         + coalesce(length(CAST(?5 AS BLOB)), 0)
                 WHERE user_id = ?1 AND key = ?2",
            )?
            .execute(params![
                user_id,
                key,
                response.status,
                pack(&response.body),
                response.location
            ])?;
        Ok(())
    }

    async fn release_idempotency(
        &mut self,
        user_id: i64,
        key: &str,
        claim: &str,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "DELETE FROM idempotency_keys
             WHERE user_id = ?1 AND key = ?2 AND claim = ?3 AND status IS NULL",
            params![user_id, key, claim],
        )?;
        Ok(())
    }

    async fn delete_idempotency_before(&mut self, before_ms: i64) -> Result<usize, StoreError> {
        Ok(self.conn().execute(
            "DELETE FROM idempotency_keys WHERE claimed_at < ?1",
            [before_ms],
        )?)
    }

    async fn kept_answer_bytes(
        &mut self,
        user_id: i64,
        expired_before_ms: i64,
    ) -> Result<u64, StoreError> {
        // The total, less what has expired but awaits the sweeper (at most a minute's worth:
        // a short range of idempotency_keys_by_user_age).
        let bytes: i64 = self
            .conn()
            .prepare_cached(
                "SELECT u.kept_answer_bytes - coalesce(
                     (SELECT sum(k.stored_bytes) FROM idempotency_keys k
                       WHERE k.user_id = u.id AND k.claimed_at < ?2), 0)
                 FROM users u WHERE u.id = ?1",
            )?
            .query_row(params![user_id, expired_before_ms], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
        Ok(u64::try_from(bytes).unwrap_or(0))
    }

    async fn oldest_kept_answer(
        &mut self,
        user_id: i64,
        expired_before_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        // ORDER BY … LIMIT 1: the first entry of idempotency_keys_by_user_age in range.
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT claimed_at FROM idempotency_keys
                 WHERE user_id = ?1 AND claimed_at >= ?2 AND stored_bytes > 0
                 ORDER BY claimed_at LIMIT 1",
            )?
            .query_row(params![user_id, expired_before_ms], |r| r.get(0))
            .optional()?)
    }
}
