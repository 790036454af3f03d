//! The `challenges` table: logins waiting for their emailed code.

use super::{StoreError, Tx};
use rusqlite::{OptionalExtension, params};

/// A pending login.
#[derive(Debug, Clone)]
pub struct Challenge {
    /// Whose login it is.
    pub user_id: i64,
    /// Keyed hash of the emailed code.
    pub code_hash: [u8; 32],
    /// Wrong codes still allowed; 0 means burned.
    pub attempts_left: u32,
    /// Unix milliseconds after which the code is dead.
    pub expires_at_ms: i64,
}

/// Stores a new challenge.
pub fn insert(tx: &Tx, id: &str, c: &Challenge) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO challenges (id, user_id, code_hash, attempts_left, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            id,
            c.user_id,
            c.code_hash.as_slice(),
            c.attempts_left,
            c.expires_at_ms
        ],
    )?;
    Ok(())
}

/// The challenge with this id, if it still exists.
pub fn get(tx: &Tx, id: &str) -> Result<Option<Challenge>, StoreError> {
    let row = tx
        .query_row(
            "SELECT user_id, code_hash, attempts_left, expires_at FROM challenges WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, u32>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            },
        )
        .optional()?;
    row.map(|(user_id, hash, attempts_left, expires_at_ms)| {
        Ok(Challenge {
            user_id,
            code_hash: <[u8; 32]>::try_from(hash)
                .map_err(|_| StoreError::Corrupt("challenge hash is not 32 bytes".into()))?,
            attempts_left,
            expires_at_ms,
        })
    })
    .transpose()
}

/// Records how many wrong codes remain.
pub fn set_attempts_left(tx: &Tx, id: &str, attempts_left: u32) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE challenges SET attempts_left = ?2 WHERE id = ?1",
        params![id, attempts_left],
    )?;
    Ok(())
}

/// Ends every live challenge of the user: their codes answer `code_expired` from now on.
pub fn end_for_user(tx: &Tx, user_id: i64, now_ms: i64) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE challenges SET expires_at = ?2 WHERE user_id = ?1 AND expires_at > ?2",
        params![user_id, now_ms],
    )?;
    Ok(())
}

/// Removes a challenge (used: a code works once).
pub fn delete(tx: &Tx, id: &str) -> Result<(), StoreError> {
    tx.execute("DELETE FROM challenges WHERE id = ?1", [id])?;
    Ok(())
}

/// Deletes challenges that expired before `now_ms`; returns how many.
pub fn delete_expired(tx: &Tx, now_ms: i64) -> Result<usize, StoreError> {
    Ok(tx.execute("DELETE FROM challenges WHERE expires_at < ?1", [now_ms])?)
}
