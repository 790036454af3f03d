//! The `sessions` table: only keyed hashes of tokens are stored.

use super::{StoreError, Tx};
use rusqlite::{OptionalExtension, params};

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// Whose session.
    pub user_id: i64,
    /// The user's email, joined in so an authenticated request costs one lookup.
    pub email: String,
    /// Unix milliseconds.
    pub issued_at_ms: i64,
    /// Unix milliseconds.
    pub expires_at_ms: i64,
    /// Set once the user logged out.
    pub revoked: bool,
}

/// Stores a new session (its `email` is the user's and is not stored again).
pub fn insert(tx: &Tx, token_hash: &[u8; 32], row: &SessionRow) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO sessions (token_hash, user_id, issued_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![
            token_hash.as_slice(),
            row.user_id,
            row.issued_at_ms,
            row.expires_at_ms
        ],
    )?;
    Ok(())
}

/// The session with this token hash, with its user's email.
pub fn get(tx: &Tx, token_hash: &[u8; 32]) -> Result<Option<SessionRow>, StoreError> {
    Ok(tx
        .prepare_cached(
            "SELECT s.user_id, u.email, s.issued_at, s.expires_at, s.revoked_at IS NOT NULL
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = ?1",
        )?
        .query_row([token_hash.as_slice()], |r| {
            Ok(SessionRow {
                user_id: r.get(0)?,
                email: r.get(1)?,
                issued_at_ms: r.get(2)?,
                expires_at_ms: r.get(3)?,
                revoked: r.get(4)?,
            })
        })
        .optional()?)
}

/// Marks a session logged out; the row stays until it expires so a reuse reads as revoked.
pub fn revoke(tx: &Tx, token_hash: &[u8; 32], now_ms: i64) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE sessions SET revoked_at = ?2 WHERE token_hash = ?1 AND revoked_at IS NULL",
        params![token_hash.as_slice(), now_ms],
    )?;
    Ok(())
}

/// Deletes sessions that expired before `now_ms`; returns how many.
pub fn delete_expired(tx: &Tx, now_ms: i64) -> Result<usize, StoreError> {
    Ok(tx.execute("DELETE FROM sessions WHERE expires_at < ?1", [now_ms])?)
}
