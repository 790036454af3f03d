//! A signed-in request's session, and a session as it is issued.

use crate::domain::{RefreshToken, SessionToken};
use crate::store::{self, SessionRow};
use chrono::{DateTime, Utc};

/// A fresh session: the token is shown to the client once and stored only hashed.
#[derive(Debug)]
pub struct SessionIssued {
    /// The bearer token.
    pub token: SessionToken,
    /// When the session stops working.
    pub expires_at: DateTime<Utc>,
    /// The refresh token and when it expires, unless refresh tokens are off.
    pub refresh: Option<(RefreshToken, DateTime<Utc>)>,
}

/// An authenticated request's session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Its public id (what `GET /v1/auth/sessions` lists).
    pub id: String,
    /// The signed-in user.
    pub user_id: i64,
    /// Their email.
    pub email: String,
    /// Their default list (`/v1/tasks`).
    pub default_list_id: i64,
    /// When the session was opened.
    pub issued_at: DateTime<Utc>,
    /// When its access token ends.
    pub expires_at: DateTime<Utc>,
    /// When the sign-in ends unless refreshed (with refresh tokens off, `expires_at`).
    pub ends_at: DateTime<Utc>,
    pub(super) token_hash: [u8; 32],
}

impl Session {
    /// The session as the store and the session checks hold it.
    pub(super) fn as_row(&self) -> SessionRow {
        SessionRow {
            id: self.id.clone(),
            user_id: self.user_id,
            email: self.email.clone(),
            default_list_id: self.default_list_id,
            issued_at_ms: store::to_millis(self.issued_at),
            expires_at_ms: store::to_millis(self.expires_at),
            ends_at_ms: store::to_millis(self.ends_at),
            revoked: false,
        }
    }
}
