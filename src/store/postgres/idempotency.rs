//! The `idempotency_keys` table.

use super::PgTx;
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
                "SELECT fingerprint, claim, claimed_at, status, body, location
                 FROM idempotency_keys WHERE user_id = $1 AND key = $2 FOR UPDATE",
                &[&user_id, &key],
            )
            .await?;
        row.map(|r| {
            let status: Option<i32> = r.try_get(3)?;
            let body: Option<String> = r.try_get(4)?;
            Ok(IdempotencyRecord {
                fingerprint: hash32(r.try_get(0)?, "request fingerprint")?,
                claim: r.try_get(1)?,
                claimed_at_ms: r.try_get(2)?,
                response: match (status, body) {
                    (Some(status), Some(body)) => Some(StoredResponse {
                        status: u16::try_from(status)
                            .map_err(|_| StoreError::Corrupt("stored status".into()))?,
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
        self.exec(
            "INSERT INTO idempotency_keys (user_id, key, fingerprint, claim, claimed_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (user_id, key) DO UPDATE
             SET claim = excluded.claim, claimed_at = excluded.claimed_at",
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
        self.exec(
            "UPDATE idempotency_keys SET status = $3, body = $4, location = $5
             WHERE user_id = $1 AND key = $2",
            &[
                &user_id,
                &key,
                &i32::from(response.status),
                &response.body,
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
}
