//! The SQL conditions of a list filter, shared by both engines (they differ only in how a
//! placeholder is written).

use crate::domain::{TaskDate, TaskFilter, TaskStatus};

/// How an engine writes the n-th placeholder.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Placeholder {
    /// SQLite: `?1`.
    Question,
    /// PostgreSQL: `$1`.
    Dollar,
}

/// ` AND …` conditions for `filter`, their placeholders numbered from `first`, and the values
/// to bind to them in that order. No filter: no conditions.
pub(crate) fn conditions(
    filter: &TaskFilter,
    first: usize,
    style: Placeholder,
) -> (String, Vec<String>) {
    let mut sql = String::new();
    let mut values = Vec::new();
    let parts = [
        ("status =", filter.status.map(|s| s.as_str().to_owned())),
        ("date >=", filter.from.map(TaskDate::to_iso)),
        ("date <=", filter.to.map(TaskDate::to_iso)),
    ];
    for (test, value) in parts {
        let Some(value) = value else { continue };
        let n = first + values.len();
        let mark = match style {
            Placeholder::Question => format!("?{n}"),
            Placeholder::Dollar => format!("${n}"),
        };
        sql.push_str(&format!(" AND {test} {mark}"));
        values.push(value);
    }
    (sql, values)
}

/// The query counting the tasks `filter` lets through in the list in placeholder 1, and the
/// values for its further placeholders, numbered from `first` (the same values, in the same
/// order, as [`conditions`] with that `first`). Everything, or one status alone, is read from
/// the counters kept with the tasks (so no list is counted); dates count an index range.
pub(crate) fn count_query(
    filter: &TaskFilter,
    first: usize,
    style: Placeholder,
) -> (String, Vec<String>) {
    let list = match style {
        Placeholder::Question => "?1",
        Placeholder::Dollar => "$1",
    };
    let counter = match (filter.status, filter.from.or(filter.to)) {
        (None, None) => "task_count",
        (Some(TaskStatus::Completed), None) => "completed_count",
        (Some(TaskStatus::Incomplete), None) => "task_count - completed_count",
        _ => {
            let (matching, values) = conditions(filter, first, style);
            let sql = format!("SELECT count(*) FROM tasks WHERE list_id = {list}{matching}");
            return (sql, values);
        }
    };
    (
        format!("SELECT {counter} FROM lists WHERE id = {list}"),
        Vec::new(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TaskStatus;

    #[test]
    fn conditions_number_their_placeholders_from_first() {
        let filter = TaskFilter::new(
            Some(TaskStatus::Completed),
            None,
            Some(TaskDate::parse("2026-01-31").unwrap()),
        )
        .unwrap();
        let (sql, values) = conditions(&filter, 4, Placeholder::Dollar);
        assert_eq!(sql, " AND status = $4 AND date <= $5");
        assert_eq!(values, ["Completed", "2026-01-31"]);
        assert_eq!(
            conditions(&TaskFilter::default(), 2, Placeholder::Question),
            (String::new(), vec![])
        );
        assert_eq!(
            count_query(&TaskFilter::default(), 2, Placeholder::Question).0,
            "SELECT task_count FROM lists WHERE id = ?1"
        );
        let (sql, values) = count_query(&filter, 2, Placeholder::Dollar);
        assert_eq!(
            sql,
            "SELECT count(*) FROM tasks WHERE list_id = $1 AND status = $2 AND date <= $3"
        );
        assert_eq!(values, ["Completed", "2026-01-31"]);
    }
}
