//! Server-wide settings kept in the database.

use super::SqliteTx;
use crate::store::rows::hash32;
use crate::store::{Settings, StoreError};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

const SECRET_KEY: &str = "hash_secret";
const PROBE_KEY: &str = "ready_probe";

#[async_trait]
impl Settings for SqliteTx<'_> {
    async fn secret_or_insert(&mut self, candidate: [u8; 32]) -> Result<[u8; 32], StoreError> {
        let stored: Option<Vec<u8>> = self
            .conn()
            .query_row(
                "SELECT value FROM settings WHERE key = ?1",
                [SECRET_KEY],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(bytes) = stored {
            return hash32(bytes, "stored secret");
        }
        self.conn().execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)",
            params![SECRET_KEY, candidate.as_slice()],
        )?;
        Ok(candidate)
    }

    async fn touch_probe(&mut self, now_ms: i64) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![PROBE_KEY, now_ms.to_be_bytes().as_slice()])?;
        Ok(())
    }
}
