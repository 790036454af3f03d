//! Background removal of dead codes, sessions and event tickets, spent idempotency keys and old
//! tombstones.

use super::{Auth, ServiceError, now_ms};
use crate::store::Store;
use std::time::Duration;

/// Expired sessions stay this long so a late request still hears `session_expired`, not `session_invalid`.
const EXPIRED_SESSION_GRACE: Duration = Duration::from_secs(24 * 60 * 60);
/// Expired codes stay this long so a late verify still hears `code_expired`, not `invalid_code`.
const EXPIRED_CODE_GRACE: Duration = Duration::from_secs(60 * 60);
/// Failures older than this no longer count against any budget (the longest window is an hour).
const FAILURES_KEPT: Duration = Duration::from_secs(60 * 60);
/// Idempotency keys answer repeats this long.
const IDEMPOTENCY_KEPT: Duration = super::idempotency::KEPT;
/// Tombstones of deleted tasks stay in the change feed this long (the contract says at least 30
/// days); a client further behind is told to read its list afresh.
const TOMBSTONES_KEPT: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// Expired sessions stay in memory this long; after that the database answers for them.
const EXPIRED_SESSION_IN_MEMORY: Duration = Duration::from_secs(60);

/// Deletes long-expired challenges and sessions; returns how many rows went.
pub async fn sweep_once(store: &Store) -> Result<usize, ServiceError> {
    store
        .write(|tx| {
            Box::pin(async move {
                let now = now_ms();
                let before = |grace: Duration| now - grace.as_millis() as i64;
                let codes = tx
                    .delete_expired_challenges(before(EXPIRED_CODE_GRACE))
                    .await?;
                let old = tx
                    .delete_expired_sessions(before(EXPIRED_SESSION_GRACE))
                    .await?;
                let failed = tx.delete_failures_before(before(FAILURES_KEPT)).await?;
                let keys = tx
                    .delete_idempotency_before(before(IDEMPOTENCY_KEPT))
                    .await?;
                let tombstones = tx.sweep_tombstones(before(TOMBSTONES_KEPT)).await?;
                // An expired ticket only ever answers `session_invalid`: no grace.
                let tickets = tx.delete_expired_tickets(now).await?;
                Ok::<_, ServiceError>(codes + old + failed + keys + tombstones + tickets)
            })
        })
        .await
}

/// How often revocations that could not be stored are tried again.
const REVOCATION_RETRY: Duration = Duration::from_secs(1);

/// Runs [`sweep_once`] every `every`, and stores waiting revocations every second, until the
/// task is dropped.
pub fn spawn(store: Store, auth: Auth, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut retry = tokio::time::interval(REVOCATION_RETRY);
        retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = retry.tick() => auth.store_waiting_revocations().await,
                _ = tick.tick() => {
                    match sweep_once(&store).await {
                        Ok(0) => {}
                        Ok(n) => tracing::debug!(rows = n, "swept expired codes and sessions"),
                        Err(e) => tracing::error!(error = %e, "sweeping expired codes and sessions failed"),
                    }
                    auth.forget_idle(now_ms() - EXPIRED_SESSION_IN_MEMORY.as_millis() as i64);
                }
            }
        }
    })
}
