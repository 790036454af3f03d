//! Retry-safe writes: a create, move or sort sent with an `Idempotency-Key` runs once, and a
//! repeat with the same key and the same request answers what the first answered.
//!
//! The key is taken in a transaction of its own (so a second request sees the first is
//! running: 409), and the answer is stored in the same transaction as the write itself (so a
//! write is never done without its answer kept, nor an answer kept without the write). A run
//! that stalled (its process died between the two) lets go of the key after a minute: the
//! write it never committed may then run again.
//!
//! What one user keeps is bounded (`LISTO_IDEMPOTENCY_BYTES_PER_USER`, counted as stored,
//! compressed): at or past it, a keyed request that would run is refused before it takes its
//! key (429 until the oldest answer expires), so nothing runs whose answer could not be kept.
//! A repeat of a kept answer costs nothing and is always answered.

use super::{ServiceError, now_ms};
use crate::domain::{ChallengeId, IdempotencyKey};
use crate::store::{Store, StoredResponse, Tx, Work};
use std::time::Duration;

/// A run holding a key this long without finishing is taken to have died.
const STALLED_AFTER_MS: i64 = 60_000;

/// How long a key answers repeats; the sweeper deletes it after.
pub(super) const KEPT: Duration = Duration::from_secs(24 * 60 * 60);

/// An answer kept for a key, given again to a repeat of the request that made it: what the
/// HTTP layer rendered, kept as it was (the service's own type, so `api` never sees `store`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptAnswer {
    /// HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: String,
    /// The `Location` header, if it had one.
    pub location: Option<String>,
}

impl From<StoredResponse> for KeptAnswer {
    fn from(r: StoredResponse) -> Self {
        let StoredResponse {
            status,
            body,
            location,
        } = r;
        Self {
            status,
            body,
            location,
        }
    }
}

impl From<KeptAnswer> for StoredResponse {
    fn from(a: KeptAnswer) -> Self {
        let KeptAnswer {
            status,
            body,
            location,
        } = a;
        Self {
            status,
            body,
            location,
        }
    }
}

/// A write sent with an `Idempotency-Key`: the key, what identifies the request (its operation,
/// its path and query, its body), and how its answer is kept.
pub struct Idempotent<T> {
    /// The client's key.
    pub key: IdempotencyKey,
    /// A hash of the request: the same key with another request is refused.
    pub fingerprint: [u8; 32],
    /// The answer to keep, made from the write's result.
    pub render: std::sync::Arc<dyn Fn(&T) -> KeptAnswer + Send + Sync>,
}

// By hand: a derive would ask `T: Clone`, which the shared `render` does not need.
impl<T> Clone for Idempotent<T> {
    fn clone(&self) -> Self {
        Self {
            key: self.key.clone(),
            fingerprint: self.fingerprint,
            render: std::sync::Arc::clone(&self.render),
        }
    }
}

/// What a write that may be a repeat did.
pub enum Outcome<T> {
    /// It ran now.
    Done(T),
    /// It had run before: this is its answer.
    Replayed(KeptAnswer),
}

/// Where keyed writes keep their answers, and how much each user may keep.
#[derive(Clone)]
pub(super) struct KeptAnswers {
    /// The store the writes and their answers go to.
    pub store: Store,
    /// Bytes of kept answers (as stored) one user may hold before a keyed request that would
    /// run is refused; `None`: no limit.
    pub limit: Option<u64>,
}

/// Runs `write` (as [`Store::write`] would) unless the key says it ran before.
pub(super) async fn run_once<T, F>(
    kept: &KeptAnswers,
    user: i64,
    idempotent: Option<Idempotent<T>>,
    write: F,
) -> Result<Outcome<T>, ServiceError>
where
    F: for<'t> FnOnce(&'t mut dyn Tx) -> Work<'t, T, ServiceError> + Send + 'static,
    T: Send + 'static,
{
    let (store, limit) = (&kept.store, kept.limit);
    let Some(Idempotent {
        key,
        fingerprint,
        render,
    }) = idempotent
    else {
        return Ok(Outcome::Done(store.write(write).await?));
    };
    let claim = match begin(store, user, limit, &key, fingerprint).await? {
        Ok(claim) => claim,
        Err(replay) => return Ok(Outcome::Replayed(replay.into())),
    };
    let (held, by) = (key.clone(), claim.clone());
    let done = store
        .write(move |tx| {
            Box::pin(async move {
                let value = write(&mut *tx).await?;
                let answer = render(&value).into();
                finish(tx, user, &held, &by, &answer).await?;
                Ok(value)
            })
        })
        .await;
    if done.is_err() {
        // The write changed nothing; a retry may run it afresh.
        let released = store
            .write(move |tx| {
                Box::pin(async move {
                    Ok::<_, ServiceError>(tx.release_idempotency(user, key.as_str(), &claim).await?)
                })
            })
            .await;
        if let Err(e) = released {
            tracing::warn!(error = %e, "could not let go of an idempotency key; it frees itself in a minute");
        }
    }
    done.map(Outcome::Done)
}

/// Takes the key for this run, or says why not: `Err(answer)` to replay, or a refusal.
async fn begin(
    store: &Store,
    user: i64,
    limit: Option<u64>,
    key: &IdempotencyKey,
    fingerprint: [u8; 32],
) -> Result<Result<String, StoredResponse>, ServiceError> {
    let key = key.clone();
    store
        .write(move |tx| {
            Box::pin(async move {
                let now = now_ms();
                let claim = ChallengeId::generate().as_str().to_owned();
                if let Some(held) = tx.idempotency_record(user, key.as_str()).await? {
                    let same = held.fingerprint == fingerprint;
                    match held.response {
                        None if now - held.claimed_at_ms < STALLED_AFTER_MS => {
                            return Err(ServiceError::IdempotencyInProgress);
                        }
                        _ if !same => return Err(ServiceError::IdempotencyKeyReused),
                        Some(answer) => return Ok(Err(answer)),
                        // Held by a run that stalled: this one takes over.
                        None => {}
                    }
                }
                if let Some(limit) = limit {
                    within_quota(tx, user, limit, now).await?;
                }
                tx.claim_idempotency(user, key.as_str(), &fingerprint, &claim, now)
                    .await?;
                Ok(Ok(claim))
            })
        })
        .await
}

/// Keeps the answer, inside the write: only if this run still holds the key (a run taken over
/// after it stalled must not finish; its write is rolled back with this refusal).
async fn finish(
    tx: &mut dyn Tx,
    user: i64,
    key: &IdempotencyKey,
    claim: &str,
    answer: &StoredResponse,
) -> Result<(), ServiceError> {
    let held = tx.idempotency_record(user, key.as_str()).await?;
    if !held.is_some_and(|h| h.claim == claim && h.response.is_none()) {
        return Err(ServiceError::IdempotencyInProgress);
    }
    tx.complete_idempotency(user, key.as_str(), answer).await?;
    Ok(())
}

/// Refuses a run when the user's kept answers already fill `limit` bytes; Retry-After is when
/// the oldest of them expires (it then stops counting, swept or not).
async fn within_quota(
    tx: &mut dyn Tx,
    user: i64,
    limit: u64,
    now: i64,
) -> Result<(), ServiceError> {
    let kept_since = now - KEPT.as_millis() as i64;
    let used = tx.kept_answer_bytes(user, kept_since).await?;
    if used < limit {
        return Ok(());
    }
    let oldest = tx.oldest_kept_answer(user, kept_since).await?;
    let frees_at = oldest.map_or(now, |at| at + KEPT.as_millis() as i64);
    // Rounded up: a retry at Retry-After finds the answer expired.
    let wait_ms = u64::try_from(frees_at - now).unwrap_or(0);
    Err(ServiceError::QuotaExceeded {
        what: "kept answers (bytes)",
        limit,
        used,
        retry_after_secs: Some(wait_ms.div_ceil(1000).max(1)),
    })
}
