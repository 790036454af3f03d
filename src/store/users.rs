//! The `users` table.

use super::{StoreError, Tx, from_millis};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

/// A stored account.
#[derive(Debug, Clone)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Lower-cased address.
    pub email: String,
    /// The argon2 PHC string.
    pub password_hash: String,
    /// When the account was made.
    pub created_at: DateTime<Utc>,
}

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, String, String, i64)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn into_user(
    (id, email, password_hash, created): (i64, String, String, i64),
) -> Result<User, StoreError> {
    Ok(User {
        id,
        email,
        password_hash,
        created_at: from_millis(created)?,
    })
}

/// Inserts an account, or returns `None` when the email is already registered.
pub fn insert(
    tx: &Tx,
    email: &str,
    password_hash: &str,
    now_ms: i64,
) -> Result<Option<User>, StoreError> {
    let row = tx
        .query_row(
            "INSERT INTO users (email, password_hash, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (email) DO NOTHING
             RETURNING id, email, password_hash, created_at",
            params![email, password_hash, now_ms],
            from_row,
        )
        .optional()?;
    row.map(into_user).transpose()
}

/// The account with this email, if any.
pub fn by_email(tx: &Tx, email: &str) -> Result<Option<User>, StoreError> {
    let row = tx
        .query_row(
            "SELECT id, email, password_hash, created_at FROM users WHERE email = ?1",
            [email],
            from_row,
        )
        .optional()?;
    row.map(into_user).transpose()
}

/// The account with this id, if any.
pub fn by_id(tx: &Tx, id: i64) -> Result<Option<User>, StoreError> {
    let row = tx
        .query_row(
            "SELECT id, email, password_hash, created_at FROM users WHERE id = ?1",
            [id],
            from_row,
        )
        .optional()?;
    row.map(into_user).transpose()
}

/// How many tasks the user holds (a counter kept by `tasks`, so no list is counted).
pub fn task_count(tx: &Tx, user_id: i64) -> Result<u64, StoreError> {
    let n: i64 = tx.query_row(
        "SELECT task_count FROM users WHERE id = ?1",
        [user_id],
        |r| r.get(0),
    )?;
    Ok(n as u64)
}

/// Moves the user's task counter by `delta`.
pub fn add_task_count(tx: &Tx, user_id: i64, delta: i64) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE users SET task_count = task_count + ?2 WHERE id = ?1",
        params![user_id, delta],
    )?;
    Ok(())
}
