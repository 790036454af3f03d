//! The feed's one read, shared by both engines (they differ only in how a placeholder is
//! written, and both read `NOT` of a stored 0/1 or boolean the same way).

use super::filter_sql::Placeholder;
use super::rows::LIST_COLUMNS;
use crate::domain::FeedScope;

/// Where the task's columns start in a feed row (after seq, kind, item id, list id).
pub(crate) const TASK_AT: usize = 4;
/// Where the list's columns start (after the task's nine).
pub(crate) const LIST_AT: usize = TASK_AT + 9;

/// The task columns of a feed row, from `changes c` joined with `tasks t`.
const TASK_COLUMNS: &str = "t.id, t.list_id, t.date, t.text, t.status, t.created_at, \
     t.updated_at, t.sort_key, t.version";
/// A task entry's list columns, and a list entry's task columns: none, typed for PostgreSQL.
const NO_LIST: &str = "CAST(NULL AS BIGINT), CAST(NULL AS TEXT), CAST(NULL AS BIGINT), \
     CAST(NULL AS TEXT), CAST(NULL AS BOOLEAN), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), \
     CAST(NULL AS BIGINT), CAST(NULL AS BIGINT)";
const NO_TASK: &str = "CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS TEXT), \
     CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), \
     CAST(NULL AS TEXT), CAST(NULL AS BIGINT)";

/// The page of the user's feed in `scope` after a position: user in placeholder 1, the position
/// in 2, the limit in 3, and a list's id in 4 for [`FeedScope::List`]. Each entry joins the task
/// or list as it is now; a tombstone (or a move out of the list read) finds none. Each is one
/// statement (one snapshot): a range read of `changes_by_list` for one list; for everything,
/// range reads of both tables' `(user_id, seq)` indexes, merged.
pub(crate) fn changes_after(scope: FeedScope, style: Placeholder) -> String {
    let n = |i: usize| match style {
        Placeholder::Question => format!("?{i}"),
        Placeholder::Dollar => format!("${i}"),
    };
    let (user, since, limit) = (n(1), n(2), n(3));
    let tasks = |only: String| {
        format!(
            "SELECT c.seq, 'task', c.task_id, c.list_id, {TASK_COLUMNS}, {NO_LIST}
             FROM changes c LEFT JOIN tasks t ON NOT c.deleted AND t.id = c.task_id
             WHERE c.user_id = {user} AND c.seq > {since} AND {only}"
        )
    };
    match scope {
        // One list's feed shows a task that left it as deleted there.
        FeedScope::List(_) => format!(
            "{} ORDER BY c.seq LIMIT {limit}",
            tasks(format!("c.list_id = {}", n(4)))
        ),
        // Everything: a task that moved is told by its row in the list it went to. One plain
        // compound statement: SQLite merges the two index reads in `seq` order (with a page
        // and an order inside each half, it sorted both in a temporary tree: 1.3x the
        // instructions of a list's feed), PostgreSQL appends them merged.
        FeedScope::Everything => format!(
            "{}
             UNION ALL
             SELECT lc.seq, 'list', lc.list_id, lc.list_id, {NO_TASK}, {LIST_COLUMNS}
             FROM list_changes lc
             LEFT JOIN lists l ON NOT lc.deleted AND l.id = lc.list_id
             LEFT JOIN users o ON o.id = l.owner_id
             WHERE lc.user_id = {user} AND lc.seq > {since}
             ORDER BY 1 LIMIT {limit}",
            tasks("NOT c.moved".to_owned())
        ),
    }
}
