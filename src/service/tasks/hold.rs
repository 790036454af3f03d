//! Which list a task write holds, and in which order: every write holds its lists in ascending
//! id order and none holds another after, so two writers never wait on each other.

use super::ListRef;
use crate::domain::Task;
use crate::service::{ServiceError, Session};
use crate::store::Tx;

/// The list `list` names for the session's user: its id, or 404 when the user has no such list.
pub(super) async fn find_list(
    tx: &mut dyn Tx,
    session: &Session,
    list: ListRef,
) -> Result<i64, ServiceError> {
    match list {
        // The session read it with the account: it lives as long as the account.
        ListRef::Default => Ok(session.default_list_id),
        ListRef::Id(id) => match tx.list(session.user_id, id).await? {
            Some(list) => Ok(list.id),
            None => Err(ServiceError::ListNotFound),
        },
    }
}

/// Finds the list `list` names and holds it until the transaction ends. With several writers a
/// list found may be deleted before the hold is granted: it is looked for again once held.
pub(super) async fn hold_found_list(
    tx: &mut dyn Tx,
    session: &Session,
    list: ListRef,
    exclusive: bool,
) -> Result<i64, ServiceError> {
    let id = find_list(tx, session, list).await?;
    tx.hold_list(id).await?;
    if !exclusive && list != ListRef::Default {
        find_list(tx, session, list).await?;
    }
    Ok(id)
}

/// Finds the user's task and holds its list (and `also`, when set) until the transaction ends,
/// in ascending id order: every write holds its lists in that order, and none holds another
/// list after, so two writers never wait on each other. With several writers the task may move
/// to another list between being found and the hold being granted; holding that list now could
/// break the order, so the write gives up (`Contended`, nothing written) and runs again.
pub(super) async fn hold_task(
    tx: &mut dyn Tx,
    user: i64,
    id: i64,
    also: Option<i64>,
    exclusive: bool,
) -> Result<Task, ServiceError> {
    let task = tx.task(user, id).await?.ok_or(ServiceError::TaskNotFound)?;
    let mut lists = vec![task.list_id];
    lists.extend(also.filter(|l| *l != task.list_id));
    lists.sort_unstable();
    for list in lists {
        tx.hold_list(list).await?;
    }
    if exclusive {
        return Ok(task);
    }
    let now = tx.task(user, id).await?.ok_or(ServiceError::TaskNotFound)?;
    if now.list_id == task.list_id {
        Ok(now)
    } else {
        Err(ServiceError::Contended)
    }
}

/// The refusal of a move to a list that is not among the user's.
pub(super) fn unknown_list(list: i64) -> ServiceError {
    ServiceError::Invalid {
        field: "list_id",
        message: format!("list {list} is not among your lists"),
    }
}

/// How often a write about one task runs again after losing the race with a move of that task
/// to another list (each run is a few milliseconds; losing five times running means the task is
/// being moved back and forth without pause).
const CONTENDED_RUNS: usize = 5;

/// Runs `write` until it does not report `Contended`, at most [`CONTENDED_RUNS`] times.
pub(super) async fn until_held<T, F, Fut>(mut write: F) -> Result<T, ServiceError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ServiceError>>,
{
    let mut runs = 1;
    loop {
        match write().await {
            Err(ServiceError::Contended) if runs < CONTENDED_RUNS => runs += 1,
            done => return done,
        }
    }
}
