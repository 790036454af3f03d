//! Server-wide settings kept in the database.

use super::PgTx;
use crate::store::rows::hash32;
use crate::store::{Settings, StoreError};
use async_trait::async_trait;

const SECRET_KEY: &str = "hash_secret";

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
            .ok_or_else(|| StoreError::Corrupt("the stored secret vanished".into()))?;
        hash32(row.try_get(0)?, "stored secret")
    }
}
