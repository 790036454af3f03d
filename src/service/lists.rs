//! List rules: make, read, rename and delete the lists a user owns. What is inside a list is
//! [`super::tasks`].

use super::idempotency::{Idempotent, KeptAnswers, Outcome, run_once};
use super::{ServiceError, Session, now_ms};
use crate::config::Quotas;
use crate::domain::{List, ListName};
use crate::store::{Signal, Store, Tx};

/// The list service; every call acts for the session's user only.
#[derive(Clone)]
pub struct Lists {
    store: Store,
    /// Where keyed writes keep their answers.
    kept: KeptAnswers,
    /// Lists one user may own (`None`: no limit).
    max_lists: Option<u64>,
}

/// The user's list `id` as it is now, or 404.
async fn own_list(tx: &mut dyn Tx, user: i64, id: i64) -> Result<List, ServiceError> {
    tx.list(user, id).await?.ok_or(ServiceError::ListNotFound)
}

/// Holds the user's list `id` for a change and returns it, refused when it is no longer at a
/// version the client saw (`If-Match`).
async fn held_at(
    tx: &mut dyn Tx,
    user: i64,
    id: i64,
    seen: Option<&[i64]>,
) -> Result<List, ServiceError> {
    tx.hold_list(id).await?;
    let current = own_list(tx, user, id).await?;
    match seen {
        Some(seen) if !seen.contains(&current.version) => {
            Err(ServiceError::ListPreconditionFailed {
                current: Box::new(current),
            })
        }
        _ => Ok(current),
    }
}

impl Lists {
    /// Builds the service, with the quotas it enforces.
    pub fn new(store: Store, quotas: Quotas) -> Self {
        let kept = KeptAnswers {
            store: store.clone(),
            limit: quotas.idempotency_bytes,
        };
        Self {
            store,
            kept,
            max_lists: quotas.lists,
        }
    }

    /// Every list the user sees: the default first, then by creation.
    pub async fn all(&self, session: &Session) -> Result<Vec<List>, ServiceError> {
        let user = session.user_id;
        self.store
            .read(move |tx| Box::pin(async move { Ok(tx.lists(user).await?) }))
            .await
    }

    /// One list the user sees.
    pub async fn get(&self, session: &Session, id: i64) -> Result<List, ServiceError> {
        let user = session.user_id;
        self.store
            .read(move |tx| Box::pin(async move { own_list(tx, user, id).await }))
            .await
    }

    /// Makes a list (once per idempotency key), within the user's quota.
    pub async fn create(
        &self,
        session: &Session,
        name: ListName,
        idempotent: Option<Idempotent<List>>,
    ) -> Result<Outcome<List>, ServiceError> {
        let user = session.user_id;
        let max_lists = self.max_lists;
        run_once(&self.kept, user, idempotent, move |tx| {
            Box::pin(async move {
                if let Some(limit) = max_lists {
                    // Two creates of one user at once both count before either inserts only on
                    // PostgreSQL; the feed's row of the user, which every insert takes, orders
                    // them, and the later one is counted again below.
                    let used = tx.count_lists(user).await?;
                    if used >= limit {
                        return Err(quota(limit, used));
                    }
                }
                let list = tx.insert_list(user, &name, false, now_ms()).await?;
                if let Some(limit) = max_lists {
                    let used = tx.count_lists(user).await?;
                    if used > limit {
                        // Rolled back with the transaction: nothing was made.
                        return Err(quota(limit, used - 1));
                    }
                }
                tx.announce(user, Signal::TasksChanged).await?;
                Ok(list)
            })
        })
        .await
    }

    /// Renames one of the user's lists (only if it is at a version in `if_match`).
    pub async fn rename(
        &self,
        session: &Session,
        id: i64,
        name: ListName,
        if_match: Option<Vec<i64>>,
    ) -> Result<List, ServiceError> {
        let user = session.user_id;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    held_at(tx, user, id, if_match.as_deref()).await?;
                    let list = tx
                        .rename_list(user, id, &name, now_ms())
                        .await?
                        .ok_or(ServiceError::ListNotFound)?;
                    tx.announce(user, Signal::TasksChanged).await?;
                    Ok(list)
                })
            })
            .await
    }

    /// Deletes one of the user's lists with its tasks; never the default list.
    pub async fn delete(
        &self,
        session: &Session,
        id: i64,
        if_match: Option<Vec<i64>>,
    ) -> Result<(), ServiceError> {
        let user = session.user_id;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let current = held_at(tx, user, id, if_match.as_deref()).await?;
                    if current.is_default {
                        return Err(ServiceError::DefaultList);
                    }
                    if !tx.delete_list(user, id).await? {
                        return Err(ServiceError::ListNotFound);
                    }
                    tx.announce(user, Signal::TasksChanged).await?;
                    Ok(())
                })
            })
            .await
    }
}

/// The answer to a create past the list quota.
fn quota(limit: u64, used: u64) -> ServiceError {
    ServiceError::QuotaExceeded {
        what: "lists",
        limit,
        used,
        retry_after_secs: None,
    }
}
