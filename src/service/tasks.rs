//! Task rules: create, edit, delete, list, and the owner's order (sort a page, move one task).

use super::idempotency::{Idempotent, KeptAnswers, Outcome, run_once};
use super::{ServiceError, Session, now_ms};
use crate::config::Quotas;
use crate::domain::{
    MAX_PER_PAGE, PageCursor, PageRequest, Placement, SortKey, Task, TaskChanges, TaskDate,
    TaskFilter, TaskStatus, TaskText,
};
use crate::store::{NewTask, Side, Signal, Store, Tx};
use std::collections::HashSet;

/// One page of the owner's list, counted in the same transaction as it was read.
#[derive(Debug, Clone)]
pub struct TaskPage {
    /// The tasks, in the owner's order.
    pub items: Vec<Task>,
    /// Which page this is.
    pub page: PageRequest,
    /// Tasks the filter lets through, in all.
    pub total_items: u64,
    /// Where the next page starts, when there are tasks after this page.
    pub next: Option<PageCursor>,
}

/// The versions a client last saw of a task (`If-Match`): a change goes ahead only if the task
/// is still at one of them.
#[derive(Debug, Clone)]
pub struct IfMatch(pub Vec<i64>);

/// Refuses the change when the task is no longer at a version the client saw; `Ok` with no
/// precondition. Run inside the write, after the list is held, so nothing changes in between.
async fn check_version(
    tx: &mut dyn Tx,
    user: i64,
    id: i64,
    if_match: Option<&IfMatch>,
) -> Result<(), ServiceError> {
    let Some(IfMatch(seen)) = if_match else {
        return Ok(());
    };
    let current = tx.task(user, id).await?.ok_or(ServiceError::TaskNotFound)?;
    if seen.contains(&current.version) {
        Ok(())
    } else {
        Err(ServiceError::PreconditionFailed {
            current: Box::new(current),
        })
    }
}

/// The task service; every call acts for the session's user only.
#[derive(Clone)]
pub struct Tasks {
    store: Store,
    /// Where keyed writes keep their answers, and how much each user may keep.
    kept: KeptAnswers,
    /// Tasks one user may hold (`None`: no limit).
    max_tasks: Option<u64>,
}

impl Tasks {
    /// Builds the service, with the quotas it enforces.
    pub fn new(store: Store, quotas: Quotas) -> Self {
        let kept = KeptAnswers {
            store: store.clone(),
            limit: quotas.idempotency_bytes,
        };
        Self {
            store,
            kept,
            max_tasks: quotas.tasks,
        }
    }

    /// Adds a task at the end of the owner's order (once per idempotency key).
    pub async fn create(
        &self,
        session: &Session,
        date: TaskDate,
        text: TaskText,
        status: TaskStatus,
        idempotent: Option<Idempotent<Task>>,
    ) -> Result<Outcome<Task>, ServiceError> {
        let user = session.user_id;
        let max_tasks = self.max_tasks;
        run_once(&self.kept, user, idempotent, move |tx| {
            Box::pin(async move {
                tx.hold_list(user).await?;
                if let Some(limit) = max_tasks {
                    // The list is held: no other create of this user is counted in between.
                    let used = tx.count_tasks(user, &TaskFilter::default()).await?;
                    if used >= limit {
                        return Err(ServiceError::QuotaExceeded {
                            what: "tasks",
                            limit,
                            used,
                            retry_after_secs: None,
                        });
                    }
                }
                // Skipping id 0 skips nothing: ids start at 1.
                let last = tx.neighbour(user, None, Side::Before, 0).await?;
                let key = SortKey::between(last.as_ref(), None);
                let new = NewTask {
                    date,
                    text: &text,
                    status,
                    key: &key,
                };
                let task = tx.insert_task(user, new, now_ms()).await?;
                respace_if_long(tx, user, &key).await?;
                tx.announce(user, Signal::TasksChanged).await?;
                Ok(task)
            })
        })
        .await
    }

    /// One of the owner's tasks.
    pub async fn get(&self, session: &Session, id: i64) -> Result<Task, ServiceError> {
        let user = session.user_id;
        self.store
            .task(user, id)
            .await?
            .ok_or(ServiceError::TaskNotFound)
    }

    /// Changes the given fields only (and only if the task is at a version in `if_match`).
    pub async fn update(
        &self,
        session: &Session,
        id: i64,
        changes: TaskChanges,
        if_match: Option<IfMatch>,
    ) -> Result<Task, ServiceError> {
        let user = session.user_id;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    tx.hold_list(user).await?;
                    check_version(tx, user, id, if_match.as_ref()).await?;
                    let task = tx
                        .update_task(user, id, &changes, now_ms())
                        .await?
                        .ok_or(ServiceError::TaskNotFound)?;
                    tx.announce(user, Signal::TasksChanged).await?;
                    Ok(task)
                })
            })
            .await
    }

    /// Deletes one of the owner's tasks (only if it is at a version in `if_match`).
    pub async fn delete(
        &self,
        session: &Session,
        id: i64,
        if_match: Option<IfMatch>,
    ) -> Result<(), ServiceError> {
        let user = session.user_id;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    tx.hold_list(user).await?;
                    check_version(tx, user, id, if_match.as_ref()).await?;
                    if tx.delete_task(user, id).await? {
                        tx.announce(user, Signal::TasksChanged).await?;
                        Ok(())
                    } else {
                        Err(ServiceError::TaskNotFound)
                    }
                })
            })
            .await
    }

    /// A page of the owner's list: by number, or (as cheap at any depth) the page after a
    /// cursor's key.
    pub async fn list(
        &self,
        session: &Session,
        page: PageRequest,
        after: Option<SortKey>,
        filter: TaskFilter,
    ) -> Result<TaskPage, ServiceError> {
        // A first page, or the page after a cursor, is one read of its own (on PostgreSQL one
        // statement, one round trip instead of four). A later page by number first looks up
        // where it starts, and both statements must see one snapshot.
        let user = session.user_id;
        let after_cursor = after.is_some();
        if after_cursor || page.offset() == 0 {
            let limit = page_limit(page, after_cursor);
            let tag = filter.tag();
            let (total, items) = self.store.tasks_after(user, after, limit, filter).await?;
            return Ok(page_of(page, total, items, tag, after_cursor));
        }
        self.store
            .read(move |tx| Box::pin(async move { read_page(tx, user, page, None, &filter).await }))
            .await
    }

    /// Puts the tasks of one page in the posted sequence; no task off that page changes key.
    pub async fn sort(
        &self,
        session: &Session,
        page: PageRequest,
        ids: Vec<i64>,
        idempotent: Option<Idempotent<TaskPage>>,
    ) -> Result<Outcome<TaskPage>, ServiceError> {
        let user = session.user_id;
        // Checked before anything is queued: no page holds more, and the writer is shared.
        if ids.len() > MAX_PER_PAGE as usize {
            return Err(ServiceError::Invalid {
                field: "task_ids",
                message: format!("a page holds at most {MAX_PER_PAGE} tasks"),
            });
        }
        let mut seen = HashSet::new();
        let mut duplicates: Vec<i64> = ids.iter().copied().filter(|id| !seen.insert(*id)).collect();
        if !duplicates.is_empty() {
            duplicates.dedup();
            return Err(ServiceError::InvalidOrder {
                message: "task_ids lists these ids more than once".into(),
                ids: duplicates,
            });
        }
        run_once(&self.kept, user, idempotent, move |tx| {
            Box::pin(async move {
                tx.hold_list(user).await?;
                let owned: HashSet<i64> = tx.owned(user, &ids).await?.into_iter().collect();
                let foreign: Vec<i64> = ids
                    .iter()
                    .copied()
                    .filter(|id| !owned.contains(id))
                    .collect();
                if !foreign.is_empty() {
                    return Err(ServiceError::InvalidOrder {
                        message: "task_ids holds ids that are not among your tasks".into(),
                        ids: foreign,
                    });
                }
                let current = tx.page_keys(user, page.offset(), page.per_page()).await?;
                let same_set =
                    current.len() == ids.len() && current.iter().all(|(id, _)| seen.contains(id));
                if !same_set {
                    return Err(ServiceError::OrderConflict {
                        current: current.into_iter().map(|(id, _)| id).collect(),
                    });
                }
                // The page hands its own keys (ascending) to the posted sequence: no task off the
                // page moves, keys never grow however often a page is sorted, and a cursor into a
                // later page still starts exactly where it did.
                // A task that keeps its slot keeps its key, and its version.
                let placed: Vec<(i64, SortKey)> = ids
                    .into_iter()
                    .zip(current)
                    .filter(|(posted, (held, _))| posted != held)
                    .map(|(posted, (_, key))| (posted, key))
                    .collect();
                if !placed.is_empty() {
                    tx.set_keys(user, &placed, Some(now_ms())).await?;
                    tx.announce(user, Signal::TasksChanged).await?;
                }
                read_page(tx, user, page, None, &TaskFilter::default()).await
            })
        })
        .await
    }

    /// Moves one task to a new place in the owner's order, rewriting only its key.
    pub async fn move_to(
        &self,
        session: &Session,
        id: i64,
        to: Placement,
        if_match: Option<IfMatch>,
        idempotent: Option<Idempotent<Task>>,
    ) -> Result<Outcome<Task>, ServiceError> {
        let user = session.user_id;
        run_once(&self.kept, user, idempotent, move |tx| {
            Box::pin(async move {
                tx.hold_list(user).await?;
                check_version(tx, user, id, if_match.as_ref()).await?;
                if tx.key_of(user, id).await?.is_none() {
                    return Err(ServiceError::TaskNotFound);
                }
                let (lower, upper) = match to {
                    Placement::Start => (None, tx.neighbour(user, None, Side::After, id).await?),
                    Placement::End => (tx.neighbour(user, None, Side::Before, id).await?, None),
                    Placement::Before(anchor) => {
                        let key = anchor_key(tx, user, id, "before_id", anchor).await?;
                        let previous = tx.neighbour(user, Some(&key), Side::Before, id).await?;
                        (previous, Some(key))
                    }
                    Placement::After(anchor) => {
                        let key = anchor_key(tx, user, id, "after_id", anchor).await?;
                        let next = tx.neighbour(user, Some(&key), Side::After, id).await?;
                        (Some(key), next)
                    }
                };
                let key = SortKey::between(lower.as_ref(), upper.as_ref());
                tx.set_keys(user, &[(id, key.clone())], Some(now_ms()))
                    .await?;
                respace_if_long(tx, user, &key).await?;
                tx.announce(user, Signal::TasksChanged).await?;
                tx.task(user, id).await?.ok_or(ServiceError::TaskNotFound)
            })
        })
        .await
    }
}

/// The key of the task a move is placed against, which must be another of the owner's tasks.
async fn anchor_key(
    tx: &mut dyn Tx,
    user: i64,
    moving: i64,
    field: &'static str,
    anchor: i64,
) -> Result<SortKey, ServiceError> {
    if anchor == moving {
        return Err(ServiceError::Invalid {
            field,
            message: "a task cannot be placed relative to itself".into(),
        });
    }
    tx.key_of(user, anchor).await?.ok_or(ServiceError::Invalid {
        field,
        message: format!("task {anchor} is not among your tasks"),
    })
}

/// [`read_page`] as work for the store.
/// How many tasks a page reads: a page by number learns from the total whether another follows
/// it; after a cursor, one row more than the page shows says so.
fn page_limit(page: PageRequest, after_cursor: bool) -> u32 {
    if after_cursor {
        page.per_page() + 1
    } else {
        page.per_page()
    }
}

async fn read_page(
    tx: &mut dyn Tx,
    user: i64,
    page: PageRequest,
    after: Option<&SortKey>,
    filter: &TaskFilter,
) -> Result<TaskPage, ServiceError> {
    let limit = page_limit(page, after.is_some());
    let (total_items, items) = match (after, page.offset()) {
        (Some(key), _) => tx.tasks_after(user, Some(key), limit, filter).await?,
        (None, 0) => tx.tasks_after(user, None, limit, filter).await?,
        // A page by number starts after the key of the task just before it: finding that key
        // walks the order index only, then the page itself is a range read, as with a cursor.
        (None, offset) => match tx.key_at(user, offset - 1, filter).await? {
            Some(key) => tx.tasks_after(user, Some(&key), limit, filter).await?,
            None => (tx.count_tasks(user, filter).await?, Vec::new()),
        },
    };
    Ok(page_of(
        page,
        total_items,
        items,
        filter.tag(),
        after.is_some(),
    ))
}

/// The page envelope of `items` (read with [`page_limit`]), with the cursor to the next page.
fn page_of(
    page: PageRequest,
    total_items: u64,
    mut items: Vec<Task>,
    tag: String,
    after_cursor: bool,
) -> TaskPage {
    let per_page = page.per_page();
    let more = if after_cursor {
        items.len() > per_page as usize
    } else {
        page.offset() as u64 + u64::from(per_page) < total_items
    };
    items.truncate(per_page as usize);
    let next = match (more, items.last(), page.next()) {
        (true, Some(last), Some(next)) => Some(PageCursor {
            page: next,
            after: last.sort_key.clone(),
            filter: tag,
        }),
        _ => None,
    };
    TaskPage {
        items,
        page,
        total_items,
        next,
    }
}

/// Respaces the owner's keys once one has grown past the limit, so keys stay short forever.
/// Not a change the user made, so `updated_at` stays.
async fn respace_if_long(tx: &mut dyn Tx, user: i64, key: &SortKey) -> Result<(), ServiceError> {
    if key.needs_rebalance() {
        let ids = tx.order(user).await?;
        let keys: Vec<(i64, SortKey)> = ids
            .iter()
            .copied()
            .zip(SortKey::spread(ids.len()))
            .collect();
        tx.set_keys(user, &keys, None).await?;
        tracing::info!(
            user_id = user,
            tasks = ids.len(),
            "respaced task order keys"
        );
    }
    Ok(())
}
