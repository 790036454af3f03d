//! The feed's one read, shared by both engines (they differ only in how a placeholder is
//! written, and both read `NOT` of a stored 0/1 or boolean the same way).

use super::filter_sql::Placeholder;
use super::rows::LIST_COLUMNS;
use crate::domain::FeedScope;

/// Where the task's columns start in a feed row (after seq, kind, item_id, list_id).
pub(crate) const TASK_AT: usize = 4;
/// Where the list's columns start (after the task's nine).
pub(crate) const LIST_AT: usize = TASK_AT + 9;

/// The page of the user's feed in `scope` after a position: user in placeholder 1, the position
/// in 2, the limit in 3, and a list's id in 4 for [`FeedScope::List`]. Each entry joins the task
/// or list as it is now; a tombstone (or a move out of the list read) finds none.
pub(crate) fn changes_after(scope: FeedScope, style: Placeholder) -> String {
    let n = |i: usize| match style {
        Placeholder::Question => format!("?{i}"),
        Placeholder::Dollar => format!("${i}"),
    };
    let scope = match scope {
        // One list's feed shows a task that left it as deleted there.
        FeedScope::List(_) => format!("c.kind = 'task' AND c.list_id = {}", n(4)),
        // Everything: a task that moved is told by its row in the list it went to.
        FeedScope::Everything => "NOT c.moved".to_owned(),
    };
    format!(
        "SELECT c.seq, c.kind, c.item_id, c.list_id,
                t.id, t.list_id, t.date, t.text, t.status, t.created_at, t.updated_at,
                t.sort_key, t.version, {LIST_COLUMNS}
         FROM changes c
         LEFT JOIN tasks t ON c.kind = 'task' AND NOT c.deleted AND t.id = c.item_id
         LEFT JOIN lists l ON c.kind = 'list' AND NOT c.deleted AND l.id = c.item_id
         LEFT JOIN users o ON o.id = l.owner_id
         WHERE c.user_id = {} AND c.seq > {} AND {scope}
         ORDER BY c.seq LIMIT {}",
        n(1),
        n(2),
        n(3)
    )
}
