//! The rows the store hands back, shared by every engine.

use super::StoreError;
use crate::domain::{SortKey, Task, TaskDate, TaskStatus, TaskText};
use chrono::{DateTime, Utc};

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

/// A pending login: passed the password check, waits for its emailed code.
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

/// Which side of a key to look on.
#[derive(Debug, Clone, Copy)]
pub enum Side {
    /// The nearest key below.
    Before,
    /// The nearest key above.
    After,
}

/// Milliseconds since the Unix epoch: how every instant is stored.
pub fn to_millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// The inverse of [`to_millis`].
pub fn from_millis(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {ms} out of range")))
}

/// A task's columns as both engines read them.
pub(crate) struct TaskColumns {
    pub id: i64,
    pub date: String,
    pub text: String,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub sort_key: String,
}

impl TaskColumns {
    /// The task, refusing a value listo could not have written.
    pub fn into_task(self) -> Result<Task, StoreError> {
        let id = self.id;
        let corrupt = |what: &str, e: crate::domain::Invalid| {
            StoreError::Corrupt(format!("task {id} {what}: {e}"))
        };
        Ok(Task {
            id,
            date: TaskDate::parse(&self.date).map_err(|e| corrupt("date", e))?,
            text: TaskText::parse(&self.text).map_err(|e| corrupt("text", e))?,
            status: TaskStatus::parse(&self.status).map_err(|e| corrupt("status", e))?,
            created_at: from_millis(self.created_at)?,
            updated_at: from_millis(self.updated_at)?,
            sort_key: parse_key(&self.sort_key)?,
        })
    }
}

/// A stored order key.
pub(crate) fn parse_key(raw: &str) -> Result<SortKey, StoreError> {
    SortKey::parse(raw).map_err(|e| StoreError::Corrupt(e.0))
}

/// A stored 32-byte hash.
pub(crate) fn hash32(bytes: Vec<u8>, what: &str) -> Result<[u8; 32], StoreError> {
    <[u8; 32]>::try_from(bytes).map_err(|_| StoreError::Corrupt(format!("{what} is not 32 bytes")))
}
