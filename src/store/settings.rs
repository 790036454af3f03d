//! Server-wide settings kept in the database.

use super::{StoreError, Tx};
use rusqlite::{OptionalExtension, params};

const SECRET_KEY: &str = "hash_secret";

/// The generated hashing secret, created by `make` on the first call and kept from then on.
pub fn secret_or_insert(tx: &Tx, make: impl FnOnce() -> [u8; 32]) -> Result<[u8; 32], StoreError> {
    let stored: Option<Vec<u8>> = tx
        .query_row(
            "SELECT value FROM settings WHERE key = ?1",
            [SECRET_KEY],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(bytes) = stored {
        return <[u8; 32]>::try_from(bytes)
            .map_err(|_| StoreError::Corrupt("stored secret is not 32 bytes".into()));
    }
    let secret = make();
    tx.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)",
        params![SECRET_KEY, secret.as_slice()],
    )?;
    Ok(secret)
}
