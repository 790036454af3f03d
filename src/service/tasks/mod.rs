//! Task rules: create, edit, delete, list, move between lists, and a list's order (sort a
//! page, move one task).

mod hold;
mod page;

use super::idempotency::{Idempotent, KeptAnswers, Outcome, run_once};
use super::{ServiceError, Session, now_ms};
use crate::config::Quotas;
use crate::domain::{
    MAX_PER_PAGE, PageRequest, Placement, SortKey, Task, TaskChanges, TaskDate, TaskFilter,
    TaskStatus, TaskText,
};
use crate::store::{NewTask, Side, Signal, Store, Tx};
use hold::{find_list, hold_found_list, hold_task, unknown_list, until_held};
pub use page::TaskPage;
use page::{page_limit, page_of, read_page};
use std::collections::HashSet;

/// Which list a request works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListRef {
    /// The caller's default list (`/v1/tasks`).
    Default,
    /// A list by id (`/v1/lists/{id}/tasks`): found only among the caller's lists.
    Id(i64),
}

/// The versions a client last saw of a task (`If-Match`): a change goes ahead only if the task
/// is still at one of them.
#[derive(Debug, Clone)]
pub struct IfMatch(pub Vec<i64>);

/// Refuses the change when the task (as held) is no longer at a version the client saw; `Ok`
/// with no precondition.
fn check_version(current: &Task, if_match: Option<&IfMatch>) -> Result<(), ServiceError> {
    match if_match {
        Some(IfMatch(seen)) if !seen.contains(&current.version) => {
            Err(ServiceError::PreconditionFailed {
                current: Box::new(current.clone()),
            })
        }
        _ => Ok(()),
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

    /// Adds a task at the end of a list's order (once per idempotency key).
    pub async fn create(
        &self,
        session: &Session,
        list: ListRef,
        date: TaskDate,
        text: TaskText,
        status: TaskStatus,
        idempotent: Option<Idempotent<Task>>,
    ) -> Result<Outcome<Task>, ServiceError> {
        let user = session.user_id;
        let max_tasks = self.max_tasks;
        let exclusive = self.store.exclusive();
        let session = session.clone();
        run_once(&self.kept, user, idempotent, move |tx| {
            Box::pin(async move {
                let list = hold_found_list(tx, &session, list, exclusive).await?;
                if let Some(limit) = max_tasks {
                    // Counted across the owner's lists. Creates in another list of the owner
                    // take turns with this one on the owner's feed row, which each write holds.
                    let used = tx.owned_tasks(user).await?;
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
                let last = tx.neighbour(list, None, Side::Before, 0).await?;
                let key = SortKey::between(last.as_ref(), None);
                let new = NewTask {
                    date,
                    text: &text,
                    status,
                    key: &key,
                };
                let task = tx.insert_task(user, list, new, now_ms()).await?;
                respace_if_long(tx, list, &key).await?;
                tx.announce(user, Signal::TasksChanged).await?;
                Ok(task)
            })
        })
        .await
    }

    /// One of the user's tasks.
    pub async fn get(&self, session: &Session, id: i64) -> Result<Task, ServiceError> {
        let user = session.user_id;
        self.store
            .task(user, id)
            .await?
            .ok_or(ServiceError::TaskNotFound)
    }

    /// Changes the given fields only, and moves the task to the end of list `to_list` when set
    /// (only if the task is at a version in `if_match`).
    pub async fn update(
        &self,
        session: &Session,
        id: i64,
        changes: TaskChanges,
        to_list: Option<i64>,
        if_match: Option<IfMatch>,
    ) -> Result<Task, ServiceError> {
        let user = session.user_id;
        let exclusive = self.store.exclusive();
        until_held(|| {
            let (changes, if_match) = (changes.clone(), if_match.clone());
            self.store.write(move |tx| {
                Box::pin(async move {
                    // The target is checked first: an unknown list names the field, and a
                    // missing task still answers 404 below.
                    if let Some(list) = to_list
                        && tx.list(user, list).await?.is_none()
                    {
                        return Err(unknown_list(list));
                    }
                    let task = hold_task(tx, user, id, to_list, exclusive).await?;
                    // Held now: with several writers, the list may have gone meanwhile.
                    if let Some(list) = to_list
                        && !exclusive
                        && tx.list(user, list).await?.is_none()
                    {
                        return Err(unknown_list(list));
                    }
                    check_version(&task, if_match.as_ref())?;
                    let moving = to_list.filter(|list| *list != task.list_id);
                    let key = match moving {
                        Some(list) => {
                            let last = tx.neighbour(list, None, Side::Before, id).await?;
                            Some((list, SortKey::between(last.as_ref(), None)))
                        }
                        None => None,
                    };
                    let to = key.as_ref().map(|(list, key)| (*list, key));
                    let task = tx
                        .update_task(user, id, &changes, to, now_ms())
                        .await?
                        .ok_or(ServiceError::TaskNotFound)?;
                    if let Some((list, key)) = &key {
                        respace_if_long(tx, *list, key).await?;
                    }
                    tx.announce(user, Signal::TasksChanged).await?;
                    if key.is_some() {
                        // Respacing may have given it another key since.
                        return tx.task(user, id).await?.ok_or(ServiceError::TaskNotFound);
                    }
                    Ok(task)
                })
            })
        })
        .await
    }

    /// Deletes one of the user's tasks (only if it is at a version in `if_match`).
    pub async fn delete(
        &self,
        session: &Session,
        id: i64,
        if_match: Option<IfMatch>,
    ) -> Result<(), ServiceError> {
        let user = session.user_id;
        let exclusive = self.store.exclusive();
        until_held(|| {
            let if_match = if_match.clone();
            self.store.write(move |tx| {
                Box::pin(async move {
                    let task = hold_task(tx, user, id, None, exclusive).await?;
                    check_version(&task, if_match.as_ref())?;
                    if tx.delete_task(user, id).await? {
                        tx.announce(user, Signal::TasksChanged).await?;
                        Ok(())
                    } else {
                        Err(ServiceError::TaskNotFound)
                    }
                })
            })
        })
        .await
    }

    /// A page of a list: by number, or (as cheap at any depth) the page after a cursor's key.
    pub async fn list(
        &self,
        session: &Session,
        list: ListRef,
        page: PageRequest,
        after: Option<SortKey>,
        filter: TaskFilter,
    ) -> Result<TaskPage, ServiceError> {
        // The default list's first page, or the page after a cursor, is one read of its own (on
        // PostgreSQL one statement, one round trip instead of four). A later page by number
        // first looks up where it starts, and both statements must see one snapshot, as must
        // another list's page and the check that the caller may read it.
        let after_cursor = after.is_some();
        if list == ListRef::Default && (after_cursor || page.offset() == 0) {
            let limit = page_limit(page, after_cursor);
            let tag = filter.tag();
            let (total, items) = self
                .store
                .tasks_after(session.default_list_id, after, limit, filter)
                .await?;
            return Ok(page_of(page, total, items, tag, after_cursor));
        }
        let session = session.clone();
        self.store
            .read(move |tx| {
                Box::pin(async move {
                    let list = find_list(tx, &session, list).await?;
                    read_page(tx, list, page, after.as_ref(), &filter).await
                })
            })
            .await
    }

    /// Puts the tasks of one page of a list in the posted sequence; no task off that page
    /// changes key.
    pub async fn sort(
        &self,
        session: &Session,
        list: ListRef,
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
        let exclusive = self.store.exclusive();
        let session = session.clone();
        run_once(&self.kept, user, idempotent, move |tx| {
            Box::pin(async move {
                let list = hold_found_list(tx, &session, list, exclusive).await?;
                let inside: HashSet<i64> = tx.in_list(list, &ids).await?.into_iter().collect();
                let foreign: Vec<i64> = ids
                    .iter()
                    .copied()
                    .filter(|id| !inside.contains(id))
                    .collect();
                if !foreign.is_empty() {
                    return Err(ServiceError::InvalidOrder {
                        message: "task_ids holds ids that are not among this list's tasks".into(),
                        ids: foreign,
                    });
                }
                let current = tx.page_keys(list, page.offset(), page.per_page()).await?;
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
                    tx.set_keys(list, &placed, Some(now_ms())).await?;
                    tx.announce(user, Signal::TasksChanged).await?;
                }
                read_page(tx, list, page, None, &TaskFilter::default()).await
            })
        })
        .await
    }

    /// Moves one task to a new place in its list's order, rewriting only its key.
    pub async fn move_to(
        &self,
        session: &Session,
        id: i64,
        to: Placement,
        if_match: Option<IfMatch>,
        idempotent: Option<Idempotent<Task>>,
    ) -> Result<Outcome<Task>, ServiceError> {
        let user = session.user_id;
        let exclusive = self.store.exclusive();
        until_held(|| {
            let if_match = if_match.clone();
            run_once(&self.kept, user, idempotent.clone(), move |tx| {
                Box::pin(async move {
                    let task = hold_task(tx, user, id, None, exclusive).await?;
                    check_version(&task, if_match.as_ref())?;
                    let list = task.list_id;
                    let (lower, upper) = match to {
                        Placement::Start => {
                            (None, tx.neighbour(list, None, Side::After, id).await?)
                        }
                        Placement::End => (tx.neighbour(list, None, Side::Before, id).await?, None),
                        Placement::Before(anchor) => {
                            let key = anchor_key(tx, list, id, "before_id", anchor).await?;
                            let previous = tx.neighbour(list, Some(&key), Side::Before, id).await?;
                            (previous, Some(key))
                        }
                        Placement::After(anchor) => {
                            let key = anchor_key(tx, list, id, "after_id", anchor).await?;
                            let next = tx.neighbour(list, Some(&key), Side::After, id).await?;
                            (Some(key), next)
                        }
                    };
                    let key = SortKey::between(lower.as_ref(), upper.as_ref());
                    tx.set_keys(list, &[(id, key.clone())], Some(now_ms()))
                        .await?;
                    respace_if_long(tx, list, &key).await?;
                    tx.announce(user, Signal::TasksChanged).await?;
                    tx.task(user, id).await?.ok_or(ServiceError::TaskNotFound)
                })
            })
        })
        .await
    }
}

/// The key of the task a move is placed against, which must be another task of the same list.
async fn anchor_key(
    tx: &mut dyn Tx,
    list: i64,
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
    tx.key_of(list, anchor).await?.ok_or(ServiceError::Invalid {
        field,
        message: format!("task {anchor} is not among this list's tasks"),
    })
}

/// Respaces a list's keys once one has grown past the limit, so keys stay short forever.
/// Not a change the user made, so `updated_at` stays.
async fn respace_if_long(tx: &mut dyn Tx, list: i64, key: &SortKey) -> Result<(), ServiceError> {
    if key.needs_rebalance() {
        let ids = tx.order(list).await?;
        let keys: Vec<(i64, SortKey)> = ids
            .iter()
            .copied()
            .zip(SortKey::spread(ids.len()))
            .collect();
        tx.set_keys(list, &keys, None).await?;
        tracing::info!(
            list_id = list,
            tasks = ids.len(),
            "respaced task order keys"
        );
    }
    Ok(())
}
