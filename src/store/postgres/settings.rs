//! Server-wide settings kept in the database.

use super::PgTx;
use crate::store::rows::hash32;
use crate::store::{Settings, StoreError};
use async_trait::async_trait;

const SECRET_KEY: &str = "hash_secret";
const PROBE_KEY: &str = "ready_probe";

#[async_trait]
impl Settings for PgTx<'_> {
    async fn secret_or_insert(&mut self, candidate: [u8; 32]) -> Result<[u8; 32], StoreError> {
        // Processes starting together: the first insert wins, the others read what it stored.
        self.exec(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            &[&SECRET_KEY, &candidate.as_slice()],
        )
        .await?;
        let row = self
            .opt("SELECT value FROM settings WHERE key = $1", &[&SECRET_KEY])
            .await?
            .ok_or_else(|| StoreError::corrupt("the stored secret vanished"))?;
        hash32(row.try_get(0)?, "stored secret")
    }

    async fn touch_probe(&mut self, now_ms: i64) -> Result<(), StoreError> {
        // Every process bumps the same row: one row, whatever the number of processes.
        self.exec(
            "INSERT INTO settings (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[&PROBE_KEY, &now_ms.to_be_bytes().as_slice()],
        )
        .await?;
        Ok(())
    }
}
