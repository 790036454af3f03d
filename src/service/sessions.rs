//! A user's sessions: list them, end one by id, log out this one, the others or all.

use super::revocations::Revocation;
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
    /// The verify or its latest refresh.
    pub last_used_at: DateTime<Utc>,
}

/// Whose logout a request with a token asks for.
#[derive(Debug)]
pub enum LogoutTarget {
    /// A live session: log it out as asked.
    Live(Session),
    /// A logout of this token answered 503 and still waits to be stored: try again now.
    Waiting(u64),
    /// A logout of this token answered 503 and has since been stored: done.
    Settled,
}

impl Auth {
    /// Ends sessions on the server; each answers `session_revoked` from now on, on every
    /// process. Done only once stored: when storing fails the answer is that failure (503 for a
    /// database that will be back), the sessions are refused here meanwhile, and the sweeper
    /// stores the logout once it can.
    pub async fn logout(
        &self,
        target: LogoutTarget,
        scope: LogoutScope,
    ) -> Result<(), ServiceError> {
        let session = match target {
            LogoutTarget::Live(session) => session,
            LogoutTarget::Settled => return Ok(()),
            LogoutTarget::Waiting(number) => return self.store_waiting(number).await,
        };
        let user_id = session.user_id;
        let token_hash = session.token_hash;
        let revocation = match scope {
            LogoutScope::Local => Revocation::Token {
                token_hash,
                user_id,
            },
            LogoutScope::Others => Revocation::User {
                user_id,
                except: Some(token_hash),
            },
            LogoutScope::Global => Revocation::User {
                user_id,
                except: None,
            },
        };
        if scope != LogoutScope::Others {
            // Memory first: no request on this process passes the token while it is stored.
            self.forget_session(&session);
        }
        let asked_by = (scope != LogoutScope::Others).then_some(token_hash);
        let expires_at_ms = store::to_millis(session.expires_at);
        let ended = self
            .revoke(revocation, now_ms(), asked_by, expires_at_ms)
            .await?;
        tracing::info!(user_id, ?scope, ended = ended.max(1), "logged out");
        Ok(())
    }

    /// Stores `revocation` (asked at `at_ms`); on failure keeps it waiting and answers the
    /// failure. Returns how many sessions it ended.
    async fn revoke(
        &self,
        revocation: Revocation,
        at_ms: i64,
        asked_by: Option<[u8; 32]>,
        expires_at_ms: i64,
    ) -> Result<usize, ServiceError> {
        match self.store_revocation(&revocation, at_ms).await {
            Ok(revoked) => Ok(revoked),
            Err(e) => {
                tracing::warn!(error = %e, user_id = revocation.user_id(), "a revocation could not be stored; refused here and retried");
                self.revocations
                    .add(revocation, at_ms, asked_by, expires_at_ms);
                Err(e)
            }
        }
    }

    async fn store_revocation(
        &self,
        revocation: &Revocation,
        at_ms: i64,
    ) -> Result<usize, ServiceError> {
        let user = revocation.user_id();
        let stored = revocation.clone();
        let revoked = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let revoked = stored.store(tx, at_ms).await?;
                    tx.announce(user, Signal::SessionsEnded).await?;
                    Ok::<_, ServiceError>(revoked)
                })
            })
            .await?;
        self.forget_sessions(&revoked);
        Ok(revoked.len())
    }

    /// Tries to store the waiting revocation `number` now.
    async fn store_waiting(&self, number: u64) -> Result<(), ServiceError> {
        let Some(waiting) = self.revocations.get(number) else {
            // Stored since the token was looked at.
            return Ok(());
        };
        self.store_revocation(&waiting.revocation, waiting.at_ms)
            .await?;
        self.revocations.stored(number);
        tracing::info!(
            user_id = waiting.revocation.user_id(),
            "a waiting revocation was stored"
        );
        Ok(())
    }

    /// Stores every revocation still waiting (the sweeper calls this every second); those
    /// that fail again keep waiting.
    pub async fn store_waiting_revocations(&self) {
        for waiting in self.revocations.waiting() {
            if let Err(e) = self.store_waiting(waiting.number).await {
                tracing::debug!(error = %e, "a waiting revocation still cannot be stored");
                // The database still refuses: the rest would fail the same way.
                return;
            }
        }
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
                    last_used_at: store::from_millis(s.last_used_at_ms)?,
                    id: s.id,
                    device: s.device,
                })
            })
            .collect()
    }

    /// Ends one of the user's live sessions by its public id; another user's id is not found.
    pub async fn end_session(&self, session: &Session, id: SessionId) -> Result<(), ServiceError> {
        let user_id = session.user_id;
        let revocation = Revocation::ById {
            user_id,
            id: id.as_str().to_owned(),
        };
        // A revocation that cannot be stored waits even when the id is nobody's: it then ends
        // nothing, and the answer (503) could not have said either way.
        if self.revoke(revocation, now_ms(), None, 0).await? == 0 {
            return Err(ServiceError::SessionNotFound);
        }
        tracing::info!(user_id, "session ended by id");
        Ok(())
    }
}
