//! A user's sessions: list them, end one by id, log out this one, the others or all.

use super::{Auth, ServiceError, Session, now_ms};
use crate::domain::{Device, SessionId};
use crate::store::{self, Signal};
use chrono::{DateTime, Utc};

/// Which sessions a logout ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoutScope {
    /// The one making the request.
    Local,
    /// Every other session of the user.
    Others,
    /// Every session of the user, this one included.
    Global,
}

/// A live session as its owner sees it.
#[derive(Debug, Clone)]
pub struct SessionSummary {
    /// Public id: end it with this.
    pub id: String,
    /// When it was opened.
    pub issued_at: DateTime<Utc>,
    /// When it ends.
    pub expires_at: DateTime<Utc>,
    /// Whether it is the session making the request.
    pub current: bool,
    /// Where it was opened from.
    pub device: Device,
}

impl Auth {
    /// Ends sessions on the server; each answers `session_revoked` from now on, on every
    /// process.
    pub async fn logout(&self, session: Session, scope: LogoutScope) -> Result<(), ServiceError> {
        if scope != LogoutScope::Others {
            // Memory first: if the database write then fails the token is already dead here,
            // and the client, told 500, logs out again.
            self.forget_session(&session);
        }
        let (user, token_hash) = (session.user_id, session.token_hash);
        let revoked = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let now = now_ms();
                    let mut revoked = Vec::new();
                    if scope != LogoutScope::Local {
                        let except = (scope == LogoutScope::Others).then_some(&token_hash);
                        revoked = tx.revoke_sessions_of(user, except, now).await?;
                    }
                    if scope == LogoutScope::Local {
                        tx.revoke_session(&token_hash, now).await?;
                    }
                    tx.announce(user, Signal::SessionsEnded).await?;
                    Ok::<_, ServiceError>(revoked)
                })
            })
            .await?;
        self.forget_sessions(&revoked);
        tracing::info!(
            user_id = user,
            ?scope,
            ended = revoked.len().max(1),
            "logged out"
        );
        Ok(())
    }

    /// The user's live sessions, oldest first; the caller's is marked `current`.
    pub async fn sessions(&self, session: &Session) -> Result<Vec<SessionSummary>, ServiceError> {
        let user = session.user_id;
        let live = self
            .store
            .read(move |tx| {
                Box::pin(
                    async move { Ok::<_, ServiceError>(tx.live_sessions(user, now_ms()).await?) },
                )
            })
            .await?;
        live.into_iter()
            .map(|s| {
                Ok(SessionSummary {
                    current: s.id == session.id,
                    issued_at: store::from_millis(s.issued_at_ms)?,
                    expires_at: store::from_millis(s.expires_at_ms)?,
                    id: s.id,
                    device: s.device,
                })
            })
            .collect()
    }

    /// Ends one of the user's live sessions by its public id; another user's id is not found.
    pub async fn end_session(&self, session: &Session, id: SessionId) -> Result<(), ServiceError> {
        let user = session.user_id;
        let revoked = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let revoked = tx.revoke_session_by_id(user, id.as_str(), now_ms()).await?;
                    if revoked.is_some() {
                        tx.announce(user, Signal::SessionsEnded).await?;
                    }
                    Ok::<_, ServiceError>(revoked)
                })
            })
            .await?
            .ok_or(ServiceError::SessionNotFound)?;
        self.forget_sessions(&[revoked]);
        tracing::info!(user_id = user, "session ended by id");
        Ok(())
    }
}
