//! The rows the store hands back, shared by every engine.

use super::StoreError;
pub(crate) use crate::domain::Device;
use crate::domain::{
    List, ListName, Owner, SortKey, Task, TaskDate, TaskStatus, TaskText, Timestamp,
};
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
    /// The list `/v1/tasks` works on.
    pub default_list_id: i64,
    /// When the account was made.
    pub created_at: DateTime<Utc>,
}

/// What a challenge's code is for: it works only there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A login that passed the password check (`/v1/auth/verify`).
    Login,
    /// A password reset (`/v1/auth/password-reset/confirm`).
    Reset,
}

impl Purpose {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Login => "login",
            Purpose::Reset => "reset",
        }
    }

    /// The inverse of [`Purpose::as_str`].
    pub fn parse(raw: &str) -> Result<Self, StoreError> {
        match raw {
            "login" => Ok(Purpose::Login),
            "reset" => Ok(Purpose::Reset),
            other => Err(StoreError::corrupt(format!("challenge purpose {other:?}"))),
        }
    }
}

/// A code sent by email, waiting to be entered.
#[derive(Debug, Clone)]
pub struct Challenge {
    /// What the code is for.
    pub purpose: Purpose,
    /// Whose it is; `None` for a reset asked for an email with no account (no code matches it).
    pub user_id: Option<i64>,
    /// The email a reset was asked for (keys its wrong-code budget); `None` for a login.
    pub email: Option<String>,
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
    /// Its public id: listed and revoked by it; says nothing of the token.
    pub id: String,
    /// Whose session.
    pub user_id: i64,
    /// The user's email, joined in so an authenticated request costs one lookup.
    pub email: String,
    /// The user's default list, joined in for the same reason (`/v1/tasks`).
    pub default_list_id: i64,
    /// Unix milliseconds.
    pub issued_at_ms: i64,
    /// Unix milliseconds: when the access token expires.
    pub expires_at_ms: i64,
    /// Unix milliseconds: when the sign-in ends unless refreshed (its refresh token's expiry;
    /// without refresh tokens, `expires_at_ms`).
    pub ends_at_ms: i64,
    /// Set once the user logged out.
    pub revoked: bool,
}

/// A live session as its owner sees it in the list.
#[derive(Debug, Clone)]
pub struct LiveSession {
    /// Public id.
    pub id: String,
    /// Unix ms.
    pub issued_at_ms: i64,
    /// Unix ms: when the sign-in ends unless refreshed.
    pub expires_at_ms: i64,
    /// Unix ms: the verify or the latest refresh.
    pub last_used_at_ms: i64,
    /// Where it was opened from.
    pub device: Device,
}

/// A sign-in as a refresh reads it: the row behind its tokens.
#[derive(Debug, Clone)]
pub struct SignInRow {
    /// Public id.
    pub id: String,
    /// Whose.
    pub user_id: i64,
    /// The current generation's access token hash.
    pub token_hash: [u8; 32],
    /// Unix ms: when the sign-in was opened (the verify).
    pub issued_at_ms: i64,
    /// Unix ms: when the current access token expires.
    pub expires_at_ms: i64,
    /// Set once ended.
    pub revoked: bool,
    /// The refresh state; `None` for a sign-in opened without refresh tokens.
    pub refresh: Option<RefreshState>,
}

/// What a sign-in with refresh tokens keeps of its chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshState {
    /// 0 at the verify, one more per refresh.
    pub generation: i64,
    /// Keyed hash of the current refresh token.
    pub refresh_hash: [u8; 32],
    /// Keyed hash of its parent (the one spent to get it), if any.
    pub parent_hash: Option<[u8; 32]>,
    /// Keyed hash of the parent's parent, if any.
    pub grand_hash: Option<[u8; 32]>,
    /// Unix ms: when the current generation was issued (when its parent was spent).
    pub rotated_at_ms: i64,
    /// Unix ms: when the parent generation was issued (when the grandparent was spent).
    pub parent_rotated_at_ms: Option<i64>,
    /// Unix ms: when the current refresh token expires (sliding).
    pub refresh_expires_at_ms: i64,
    /// Unix ms: the absolute end, counted from the verify.
    pub max_age_at_ms: i64,
    /// The current pair sealed for the parent's holder (`service::seal` says how).
    pub pair_for_parent: Option<Vec<u8>>,
    /// The current pair sealed for the grandparent's holder.
    pub pair_for_grand: Option<Vec<u8>>,
    /// The parent's sealing key, sealed for the current token's holder.
    pub parent_key_wrap: Option<Vec<u8>>,
}

/// The refresh columns of a `sessions` row as stored (migrations sqlite 0011, postgres 0009),
/// before they are checked: what a read turns into a [`RefreshState`] and `listo copy` moves.
/// All `None`/0 for a sign-in without refresh tokens.
#[derive(Debug, Clone, Default)]
pub struct StoredChain {
    /// Refreshes so far.
    pub generation: i64,
    /// Keyed hashes of the current refresh token, its parent and the parent's parent.
    pub refresh_hash: Option<Vec<u8>>,
    pub parent_hash: Option<Vec<u8>>,
    pub grand_hash: Option<Vec<u8>>,
    /// Unix ms: when the current and the parent generation were issued.
    pub rotated_at: Option<i64>,
    pub parent_rotated_at: Option<i64>,
    /// Unix ms: the sliding and the absolute end.
    pub refresh_expires_at: Option<i64>,
    pub max_age_at: Option<i64>,
    /// The current pair sealed for the parent's and the grandparent's holders, and the
    /// parent's sealing key sealed for the current token's (`service::seal` says how).
    pub pair_for_parent: Option<Vec<u8>>,
    pub pair_for_grand: Option<Vec<u8>>,
    pub parent_key_wrap: Option<Vec<u8>>,
}

impl StoredChain {
    /// The refresh state; `None` for a sign-in opened without refresh tokens.
    pub fn into_state(self) -> Result<Option<RefreshState>, StoreError> {
        let (Some(hash), Some(rotated_at_ms), Some(refresh_expires_at_ms), Some(max_age_at_ms)) = (
            self.refresh_hash,
            self.rotated_at,
            self.refresh_expires_at,
            self.max_age_at,
        ) else {
            return Ok(None);
        };
        let optional = |h: Option<Vec<u8>>, what| h.map(|h| hash32(h, what)).transpose();
        Ok(Some(RefreshState {
            generation: self.generation,
            refresh_hash: hash32(hash, "refresh hash")?,
            parent_hash: optional(self.parent_hash, "parent hash")?,
            grand_hash: optional(self.grand_hash, "grandparent hash")?,
            rotated_at_ms,
            parent_rotated_at_ms: self.parent_rotated_at,
            refresh_expires_at_ms,
            max_age_at_ms,
            pair_for_parent: self.pair_for_parent,
            pair_for_grand: self.pair_for_grand,
            parent_key_wrap: self.parent_key_wrap,
        }))
    }
}

/// A session just revoked: enough to mark it dead in a cache.
#[derive(Debug, Clone, Copy)]
pub struct Revoked {
    /// The token hash.
    pub token_hash: [u8; 32],
    /// When it would have ended.
    pub expires_at_ms: i64,
}

/// A stored response, answered again to a repeat of the request that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: String,
    /// The `Location` header, if it had one.
    pub location: Option<String>,
}

/// What is kept for one idempotency key.
#[derive(Debug, Clone)]
pub struct IdempotencyRecord {
    /// Hash of the request that used the key first.
    pub fingerprint: [u8; 32],
    /// Names the run that holds the key.
    pub claim: String,
    /// Unix ms when that run took it.
    pub claimed_at_ms: i64,
    /// The response, once the run completed.
    pub response: Option<StoredResponse>,
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
        .ok_or_else(|| StoreError::corrupt(format!("timestamp {ms} out of range")))
}

/// A task's columns as both engines read them, borrowed from the row: the task copies the two
/// strings it keeps once, after checking them.
pub(crate) struct TaskColumns<'r> {
    pub id: i64,
    pub list_id: i64,
    pub date: &'r str,
    pub text: &'r str,
    pub status: &'r str,
    pub created_at: i64,
    pub updated_at: i64,
    pub sort_key: &'r str,
    pub version: i64,
}

impl TaskColumns<'_> {
    /// The task, refusing a value listo could not have written.
    pub fn into_task(self) -> Result<Task, StoreError> {
        let id = self.id;
        let corrupt = |what: &str, e: crate::domain::Invalid| {
            StoreError::corrupt(format!("task {id} {what}: {e}"))
        };
        Ok(Task {
            id,
            list_id: self.list_id,
            date: TaskDate::parse(self.date).map_err(|e| corrupt("date", e))?,
            text: TaskText::from_stored(self.text).map_err(|e| corrupt("text", e))?,
            status: TaskStatus::parse(self.status).map_err(|e| corrupt("status", e))?,
            created_at: Timestamp::from_millis(self.created_at)
                .map_err(|e| corrupt("created_at", e))?,
            updated_at: Timestamp::from_millis(self.updated_at)
                .map_err(|e| corrupt("updated_at", e))?,
            sort_key: SortKey::parse(self.sort_key).map_err(|e| corrupt("sort_key", e))?,
            version: self.version,
        })
    }
}

/// A `lists` row joined with its owner's email, as both engines read it.
pub(crate) struct ListColumns {
    pub id: i64,
    pub name: String,
    pub owner_id: i64,
    pub owner_email: String,
    pub is_default: bool,
    pub task_count: i64,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The columns [`ListColumns`] reads, in its order, from `lists l JOIN users o`.
pub(crate) const LIST_COLUMNS: &str = "l.id, l.name, l.owner_id, o.email, l.is_default, \
     l.task_count, l.version, l.created_at, l.updated_at";

impl ListColumns {
    /// The list, refusing a value listo could not have written.
    pub fn into_list(self) -> Result<List, StoreError> {
        let id = self.id;
        let corrupt = |what: &str, e: crate::domain::Invalid| {
            StoreError::corrupt(format!("list {id} {what}: {e}"))
        };
        Ok(List {
            id,
            name: ListName::parse(&self.name).map_err(|e| corrupt("name", e))?,
            owner: Owner {
                id: self.owner_id,
                email: self.owner_email,
            },
            is_default: self.is_default,
            task_count: u64::try_from(self.task_count).unwrap_or(0),
            version: self.version,
            created_at: Timestamp::from_millis(self.created_at)
                .map_err(|e| corrupt("created_at", e))?,
            updated_at: Timestamp::from_millis(self.updated_at)
                .map_err(|e| corrupt("updated_at", e))?,
        })
    }
}

/// A stored order key.
pub(crate) fn parse_key(raw: &str) -> Result<SortKey, StoreError> {
    SortKey::parse(raw).map_err(|e| StoreError::corrupt(e.0))
}

/// A stored 32-byte hash.
pub(crate) fn hash32(bytes: Vec<u8>, what: &str) -> Result<[u8; 32], StoreError> {
    <[u8; 32]>::try_from(bytes).map_err(|_| StoreError::corrupt(format!("{what} is not 32 bytes")))
}
