//! The `idempotency_keys` table.

use super::PgTx;
use crate::store::answers::{pack, unpack};
use crate::store::rows::{IdempotencyRecord, StoredResponse, hash32};
use crate::store::{Idempotency, StoreError};
use async_trait::async_trait;

#[async_trait]
impl Idempotency for PgTx<'_> {
    // FOR UPDATE: two requests with one key, on any process, take turns.
    async fn idempotency_record(
        &mut self,
        user_id: i64,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let row = self
            .opt(
                "SELECT fingerprint, claim, claimed_at, status, body, location, answer
                 FROM idempotency_keys WHERE user_id = $1 AND key = $2 FOR UPDATE",
                &[&user_id, &key],
            )
            .await?;
        row.map(|r| {
            let status: Option<i32> = r.try_get(3)?;
            // `body`: an answer kept before answers were compressed.
            let answer: Option<Vec<u8>> = r.try_get(6)?;
            let body: Option<String> = match answer {
                Some(packed) => Some(unpack(&packed)?),
                None => r.try_get(4)?,
            };
            Ok(IdempotencyRecord {
                fingerprint: hash32(r.try_get(0)?, "request fingerprint")?,
                claim: r.try_get(1)?,
                claimed_at_ms: r.try_get(2)?,
                response: match (status, body) {
                    (Some(status), Some(body)) => Some(StoredResponse {
                        status: u16::try_from(status)
                            .map_err(|_| StoreError::corrupt("stored status"))?,
                        body,
                        location: r.try_get(5)?,
                    }),
                    _ => None,
                },
            })
        })
        .transpose()
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
        self.exec(
            "INSERT INTO idempotency_keys (user_id, key, fingerprint, claim, claimed_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (user_id, key) DO UPDATE
             SET claim = excluded.claim, claimed_at = excluded.claimed_at, status = NULL,
                 body = NULL, location = NULL, answer = NULL, stored_bytes = 0",
            &[&user_id, &key, &fingerprint.as_slice(), &claim, &now_ms],
        )
        .await?;
        Ok(())
    }

    async fn complete_idempotency(
        &mut self,
        user_id: i64,
        key: &str,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        // stored_bytes moves the user's total (a trigger).
        self.exec(
            "UPDATE idempotency_keys
             SET status = $3, body = NULL, answer = $4, location = $5,
                 stored_bytes = octet_length(key) + octet_length(fingerprint)
                     + octet_length(claim) + octet_length($4::bytea)
                     + coalesce(octet_length($5::text), 0)
             WHERE user_id = $1 AND key = $2",
            &[
                &user_id,
                &key,
                &i32::from(response.status),
                &pack(&response.body),
                &response.location,
            ],
        )
        .await?;
        Ok(())
    }

    async fn release_idempotency(
        &mut self,
        user_id: i64,
        key: &str,
        claim: &str,
    ) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM idempotency_keys
             WHERE user_id = $1 AND key = $2 AND claim = $3 AND status IS NULL",
            &[&user_id, &key, &claim],
        )
        .await?;
        Ok(())
    }

    async fn delete_idempotency_before(&mut self, before_ms: i64) -> Result<usize, StoreError> {
        self.exec(
            "DELETE FROM idempotency_keys WHERE claimed_at < $1",
            &[&before_ms],
        )
        .await
    }

    async fn kept_answer_bytes(
        &mut self,
        user_id: i64,
        expired_before_ms: i64,
    ) -> Result<u64, StoreError> {
        // The total, less what has expired but awaits the sweeper.
        let row = self
            .opt(
                "SELECT u.kept_answer_bytes - coalesce(
                     (SELECT sum(k.stored_bytes) FROM idempotency_keys k
                       WHERE k.user_id = u.id AND k.claimed_at < $2), 0)::bigint
                 FROM users u WHERE u.id = $1",
                &[&user_id, &expired_before_ms],
            )
            .await?;
        let bytes: i64 = match row {
            Some(r) => r.try_get(0)?,
            None => 0,
        };
        Ok(u64::try_from(bytes).unwrap_or(0))
    }

    async fn oldest_kept_answer(
        &mut self,
        user_id: i64,
        expired_before_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        let row = self
            .opt(
                "SELECT claimed_at FROM idempotency_keys
                 WHERE user_id = $1 AND claimed_at >= $2 AND stored_bytes > 0
                 ORDER BY claimed_at LIMIT 1",
                &[&user_id, &expired_before_ms],
            )
            .await?;
        Ok(match row {
            Some(r) => Some(r.try_get(0)?),
            None => None,
        })
    }
}
