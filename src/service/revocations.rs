//! Revocations the database has not stored yet.
//!
//! A logout is acknowledged (204) only once the database holds it: a revocation kept only in
//! memory would come back to life at the next start. When storing fails (a full disk, the
//! database restarting), the request answers 503 and the revocation waits here: this process
//! refuses its sessions meanwhile (`session_revoked`), the sweeper stores it as soon as the
//! database takes writes again, and a logout retried with the token answers 503 until then and
//! 204 after.

use super::now_ms;
use crate::store::{Revoked, SessionRow, Tx};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// What a logout or ending a session by id ends.
#[derive(Debug, Clone)]
pub(super) enum Revocation {
    /// One session, by its token (`scope=local`).
    Token {
        /// The session's token hash.
        token_hash: [u8; 32],
        /// Its owner.
        user_id: i64,
    },
    /// Every session of the user opened by `at_ms` except `except` (`scope=others`, `global`).
    User {
        /// The owner.
        user_id: i64,
        /// The session that stays (`others`), if any.
        except: Option<[u8; 32]>,
    },
    /// One session by its public id.
    ById {
        /// The owner.
        user_id: i64,
        /// The session's public id.
        id: String,
    },
}

impl Revocation {
    /// Stores it as asked at `at_ms`; returns the sessions it ended.
    pub(super) async fn store(
        &self,
        tx: &mut dyn Tx,
        at_ms: i64,
    ) -> Result<Vec<Revoked>, crate::store::StoreError> {
        Ok(match self {
            Revocation::Token { token_hash, .. } => {
                tx.revoke_session(token_hash, at_ms).await?;
                Vec::new()
            }
            Revocation::User { user_id, except } => {
                tx.revoke_sessions_of(*user_id, except.as_ref(), at_ms)
                    .await?
            }
            Revocation::ById { user_id, id } => tx
                .revoke_session_by_id(*user_id, id, at_ms)
                .await?
                .into_iter()
                .collect(),
        })
    }

    /// The user whose sessions it ends.
    pub(super) fn user_id(&self) -> i64 {
        match self {
            Revocation::Token { user_id, .. }
            | Revocation::User { user_id, .. }
            | Revocation::ById { user_id, .. } => *user_id,
        }
    }

    /// Whether it ends the session `row` (token hash `token_hash`), asked at `at_ms`.
    fn ends(&self, at_ms: i64, row: &SessionRow, token_hash: &[u8; 32]) -> bool {
        match self {
            Revocation::Token { token_hash: t, .. } => t == token_hash,
            Revocation::User { user_id, except } => {
                row.user_id == *user_id
                    && except.as_ref() != Some(token_hash)
                    && row.issued_at_ms <= at_ms
            }
            Revocation::ById { user_id, id } => row.user_id == *user_id && row.id == *id,
        }
    }
}

/// A revocation waiting to be stored.
#[derive(Debug, Clone)]
pub(super) struct Pending {
    /// Names it for a retried logout.
    pub(super) number: u64,
    /// When it was asked: it ends the sessions live then, not those opened later.
    pub(super) at_ms: i64,
    /// What it ends.
    pub(super) revocation: Revocation,
    /// The token whose logout asked for it, when that token ends too: its retried logout
    /// answers 204 once stored.
    pub(super) asked_by: Option<[u8; 32]>,
    /// When that token expires (then nobody retries with it any more).
    pub(super) expires_at_ms: i64,
}

/// The revocations of this process that the database has yet to store.
#[derive(Default)]
pub(super) struct Revocations {
    pending: Mutex<Vec<Pending>>,
    /// `pending.len()`, read without the lock on every authenticated request.
    count: AtomicUsize,
    /// Tokens whose pending logout has since been stored → when they expire: a logout retried
    /// with one answers 204, as the first would have.
    settled: Mutex<HashMap<[u8; 32], i64>>,
    next: std::sync::atomic::AtomicU64,
}

/// How a token stands against the revocations waiting here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Standing {
    /// Nothing waiting ends it.
    Clear,
    /// A revocation waiting to be stored ends it (its number).
    Pending(u64),
}

impl Revocations {
    /// Keeps `revocation`, asked at `at_ms`, until it is stored.
    pub(super) fn add(
        &self,
        revocation: Revocation,
        at_ms: i64,
        asked_by: Option<[u8; 32]>,
        expires_at_ms: i64,
    ) {
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        let mut pending = lock(&self.pending);
        pending.push(Pending {
            number,
            at_ms,
            revocation,
            asked_by,
            expires_at_ms,
        });
        self.count.store(pending.len(), Ordering::Release);
    }

    /// Whether a revocation waiting here ends this session.
    pub(super) fn standing(&self, row: &SessionRow, token_hash: &[u8; 32]) -> Standing {
        if self.count.load(Ordering::Acquire) == 0 {
            return Standing::Clear;
        }
        lock(&self.pending)
            .iter()
            .find(|p| p.revocation.ends(p.at_ms, row, token_hash))
            .map_or(Standing::Clear, |p| Standing::Pending(p.number))
    }

    /// Every revocation waiting, oldest first.
    pub(super) fn waiting(&self) -> Vec<Pending> {
        if self.count.load(Ordering::Acquire) == 0 {
            return Vec::new();
        }
        lock(&self.pending).clone()
    }

    /// The one numbered `number`, if it still waits.
    pub(super) fn get(&self, number: u64) -> Option<Pending> {
        lock(&self.pending)
            .iter()
            .find(|p| p.number == number)
            .cloned()
    }

    /// Records that `number` is stored: it waits no more, and the token that asked for it
    /// answers a retried logout with 204.
    pub(super) fn stored(&self, number: u64) {
        let mut pending = lock(&self.pending);
        if let Some(at) = pending.iter().position(|p| p.number == number) {
            let done = pending.remove(at);
            if let Some(token) = done.asked_by {
                lock(&self.settled).insert(token, done.expires_at_ms);
            }
        }
        self.count.store(pending.len(), Ordering::Release);
    }

    /// Whether this token's logout was answered 503 and has since been stored.
    pub(super) fn settled(&self, token_hash: &[u8; 32]) -> bool {
        lock(&self.settled).contains_key(token_hash)
    }

    /// Forgets settled tokens that have expired.
    pub(super) fn forget_expired(&self) {
        let now = now_ms();
        lock(&self.settled).retain(|_, expires| *expires > now);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(user_id: i64, id: &str, issued_at_ms: i64) -> SessionRow {
        SessionRow {
            id: id.into(),
            user_id,
            email: "a@b.co".into(),
            default_list_id: 0,
            issued_at_ms,
            expires_at_ms: i64::MAX,
            ends_at_ms: i64::MAX,
            revoked: false,
        }
    }

    #[test]
    fn a_waiting_revocation_refuses_exactly_the_sessions_it_ends() {
        let r = Revocations::default();
        assert_eq!(r.standing(&row(1, "a", 0), &[1; 32]), Standing::Clear);
        let everyone_but = Revocation::User {
            user_id: 1,
            except: Some([2; 32]),
        };
        r.add(everyone_but, 100, None, 1_000);
        let Standing::Pending(n) = r.standing(&row(1, "a", 50), &[1; 32]) else {
            panic!("user 1's older session is refused");
        };
        // The session kept, another user's, and one opened after the logout are not.
        assert_eq!(r.standing(&row(1, "b", 50), &[2; 32]), Standing::Clear);
        assert_eq!(r.standing(&row(2, "c", 50), &[3; 32]), Standing::Clear);
        assert_eq!(r.standing(&row(1, "d", 150), &[4; 32]), Standing::Clear);
        let by_id = Revocation::ById {
            user_id: 2,
            id: "c".into(),
        };
        r.add(by_id, 100, None, 1_000);
        assert_ne!(r.standing(&row(2, "c", 50), &[3; 32]), Standing::Clear);
        r.stored(n);
        assert_eq!(r.standing(&row(1, "a", 50), &[1; 32]), Standing::Clear);
        assert_eq!(r.waiting().len(), 1);
    }

    #[test]
    fn a_stored_logout_settles_the_token_that_asked() {
        let r = Revocations::default();
        let local = Revocation::Token {
            token_hash: [9; 32],
            user_id: 1,
        };
        r.add(local, 100, Some([9; 32]), i64::MAX);
        let Standing::Pending(n) = r.standing(&row(1, "a", 0), &[9; 32]) else {
            panic!("the token is refused while its logout waits");
        };
        assert!(!r.settled(&[9; 32]));
        r.stored(n);
        assert!(r.settled(&[9; 32]));
        r.forget_expired();
        assert!(r.settled(&[9; 32]), "kept until the token expires");
    }
}
