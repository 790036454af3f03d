//! The `idempotency_keys` table.

use super::SqliteTx;
use crate::store::rows::{IdempotencyRecord, StoredResponse, hash32};
use crate::store::{Idempotency, StoreError};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

type Raw = (
    Vec<u8>,
    String,
    i64,
    Option<u16>,
    Option<String>,
    Option<String>,
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
                "SELECT fingerprint, claim, claimed_at, status, body, location
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
                ))
            })
            .optional()?;
        row.map(
            |(fingerprint, claim, claimed_at_ms, status, body, location)| {
                Ok(IdempotencyRecord {
                    fingerprint: hash32(fingerprint, "request fingerprint")?,
                    claim,
                    claimed_at_ms,
                    response: status.zip(body).map(|(status, body)| StoredResponse {
                        status,
                        body,
                        location,
                    }),
                })
            },
        )
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
        self.conn()
            .prepare_cached(
                "INSERT INTO idempotency_keys (user_id, key, fingerprint, claim, claimed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (user_id, key) DO UPDATE
                 SET claim = excluded.claim, claimed_at = excluded.claimed_at",
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
        self.conn()
            .prepare_cached(
                "UPDATE idempotency_keys SET status = ?3, body = ?4, location = ?5
                 WHERE user_id = ?1 AND key = ?2",
            )?
            .execute(params![
                user_id,
                key,
                response.status,
                response.body,
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
}
