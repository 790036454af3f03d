//! The `tasks` table and the order keys that place each task in its list.
//!
//! Every statement is scoped: by `user_id` (the owner) for one task, by `list_id` for an order.
//! A task id alone never reaches a row.

use super::SqliteTx;
use super::users::add_task_count;
use crate::domain::{SortKey, Task, TaskChanges, TaskDate, TaskFilter, TaskStatus, TaskText};
use crate::store::filter_sql::{Placeholder, conditions, count_query};
use crate::store::rows::{TaskColumns, parse_key};
use crate::store::tx::NewTask;
use crate::store::{Side, StoreError, TaskRows};
use async_trait::async_trait;
use rusqlite::types::{FromSqlError, Type, ValueRef};
use rusqlite::{OptionalExtension, params};
use std::fmt::Write;

pub(super) const COLUMNS: &str =
    "id, list_id, date, text, status, created_at, updated_at, sort_key, version";

// The statements over a set of ids reach each task by its id. Left to choose, SQLite walked the
// owner's whole order index instead (it cannot know how few ids `json_each` yields): the `+`
// keeps `list_id` out of the index choice and leaves it a check on each row found.
/// The posted ids (`?2`, a JSON array) that are in list `?1`.
const OWNED: &str =
    "SELECT id FROM tasks WHERE +list_id = ?1 AND id IN (SELECT value FROM json_each(?2))";
/// Moves the tasks `?2` (a JSON array of ids) to keys no real key can take.
const PARK: &str = "UPDATE tasks SET sort_key = '~' || id
    WHERE +list_id = ?1 AND id IN (SELECT value FROM json_each(?2))";
/// Gives each task of `?2` (a JSON array of `[id, key]`) its key, as one change.
const PLACE: &str = "UPDATE tasks SET sort_key = placed.key, updated_at = COALESCE(?3, updated_at),
                      version = version + 1
    FROM (SELECT value ->> 0 AS id, value ->> 1 AS key FROM json_each(?2)) AS placed
    WHERE +tasks.list_id = ?1 AND tasks.id = placed.id";

/// Gives task `?2` the key `?3`, as one change.
const PLACE_ONE: &str = "UPDATE tasks SET sort_key = ?3, updated_at = COALESCE(?4, updated_at),
                          version = version + 1
    WHERE id = ?2 AND list_id = ?1";

/// A row of `COLUMNS` (from `first` on) as a task: the outer error is SQLite's, the inner one a
/// value listo could not have stored.
pub(super) fn task_at(
    row: &rusqlite::Row<'_>,
    first: usize,
) -> rusqlite::Result<Result<Task, StoreError>> {
    // Every column is read where it lies in the row (`get_ref`): rusqlite's typed `get` checked
    // each value's type twice and copied both strings before listo checked them again.
    let int = |i: usize| {
        let value = row.get_ref(first + i)?;
        value.as_i64().map_err(|e| wrong_type(first + i, value, e))
    };
    let text = |i: usize| stored_str(row.get_ref(first + i)?, first + i);
    Ok(TaskColumns {
        id: int(0)?,
        list_id: int(1)?,
        date: text(2)?,
        text: text(3)?,
        status: text(4)?,
        created_at: int(5)?,
        updated_at: int(6)?,
        sort_key: text(7)?,
        version: int(8)?,
    }
    .into_task())
}

/// A TEXT value as a `str`. SQLite does not check that text is UTF-8; listo writes only `str`s,
/// so this holds for every row, but is still checked: ASCII (dates, statuses, keys, most texts)
/// by `is_ascii`, a word at a time, where `str::from_utf8` walked short strings a byte at a
/// time (13.5k of a list page's instructions).
fn stored_str<'r>(value: ValueRef<'r>, column: usize) -> rusqlite::Result<&'r str> {
    let bytes = value.as_bytes().map_err(|e| wrong_type(column, value, e))?;
    if bytes.is_ascii() {
        // SAFETY: every ASCII byte string is valid UTF-8.
        return Ok(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    std::str::from_utf8(bytes)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(column, Type::Text, Box::new(e)))
}

/// A value of another type than the column holds, naming the column.
fn wrong_type(column: usize, value: ValueRef<'_>, e: FromSqlError) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, value.data_type(), Box::new(e))
}

/// A row of `COLUMNS` as a task.
fn task_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Task, StoreError>> {
    task_at(row, 0)
}

impl SqliteTx<'_> {
    /// One key (or none) from a query with the given parameters.
    fn one_key(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Option<SortKey>, StoreError> {
        let key: Option<String> = self
            .conn()
            .prepare_cached(sql)?
            .query_row(params, |r| r.get(0))
            .optional()?;
        key.as_deref().map(parse_key).transpose()
    }
}

#[async_trait]
impl TaskRows for SqliteTx<'_> {
    // The writer thread runs one write transaction at a time: lists are already held.
    async fn hold_list(&mut self, _list_id: i64) -> Result<(), StoreError> {
        Ok(())
    }

    async fn insert_task(
        &mut self,
        owner: i64,
        list_id: i64,
        new: NewTask<'_>,
        now_ms: i64,
    ) -> Result<Task, StoreError> {
        let row = self
            .conn()
            .prepare_cached(&format!(
                "INSERT INTO tasks (user_id, list_id, date, text, status, sort_key, created_at,
                                    updated_at)
                 VALUES (?1, ?7, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING {COLUMNS}"
            ))?
            .query_row(
                params![
                    owner,
                    new.date.to_iso(),
                    new.text.as_str(),
                    new.status.as_str(),
                    new.key.as_str(),
                    now_ms,
                    list_id
                ],
                task_row,
            )??;
        add_task_count(self.conn(), owner, 1)?;
        Ok(row)
    }

    async fn task(&mut self, user_id: i64, id: i64) -> Result<Option<Task>, StoreError> {
        let row = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM tasks WHERE id = ?1 AND user_id = ?2"
            ))?
            .query_row(params![id, user_id], task_row)
            .optional()?;
        row.transpose()
    }

    async fn update_task(
        &mut self,
        user_id: i64,
        id: i64,
        changes: &TaskChanges,
        to: Option<(i64, &SortKey)>,
        now_ms: i64,
    ) -> Result<Option<Task>, StoreError> {
        let row = self
            .conn()
            .prepare_cached(&format!(
                "UPDATE tasks SET date = COALESCE(?3, date), text = COALESCE(?4, text),
                                  status = COALESCE(?5, status), updated_at = ?6,
                                  list_id = COALESCE(?7, list_id),
                                  sort_key = COALESCE(?8, sort_key), version = version + 1
                 WHERE id = ?1 AND user_id = ?2 RETURNING {COLUMNS}"
            ))?
            .query_row(
                params![
                    id,
                    user_id,
                    changes.date.map(TaskDate::to_iso),
                    changes.text.as_ref().map(TaskText::as_str),
                    changes.status.map(TaskStatus::as_str),
                    now_ms,
                    to.map(|(list, _)| list),
                    to.map(|(_, key)| key.as_str())
                ],
                task_row,
            )
            .optional()?;
        row.transpose()
    }

    async fn delete_task(&mut self, user_id: i64, id: i64) -> Result<bool, StoreError> {
        let deleted = self.conn().execute(
            "DELETE FROM tasks WHERE id = ?1 AND user_id = ?2",
            params![id, user_id],
        )?;
        if deleted > 0 {
            add_task_count(self.conn(), user_id, -1)?;
        }
        Ok(deleted > 0)
    }

    async fn tasks_after(
        &mut self,
        list_id: i64,
        key: Option<&SortKey>,
        limit: u32,
        filter: &TaskFilter,
    ) -> Result<(u64, Vec<Task>), StoreError> {
        // Two statements in the reader's one snapshot.
        let total = self.count_tasks(list_id, filter).await?;
        let (matching, values) = conditions(filter, 4, Placeholder::Question);
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT {COLUMNS} FROM tasks WHERE list_id = ?1 AND sort_key > ?2{matching}
             ORDER BY sort_key LIMIT ?3"
        ))?;
        // Every key sorts above the empty string.
        let after = key.map_or("", SortKey::as_str);
        let mut bound: Vec<&dyn rusqlite::ToSql> = vec![&list_id, &after, &limit];
        bound.extend(values.iter().map(|v| v as &dyn rusqlite::ToSql));
        let mut rows = stmt.query(bound.as_slice())?;
        // Sized for the page at once: collecting grew the vector four times, copying the tasks.
        let mut tasks = Vec::with_capacity(limit as usize);
        while let Some(row) = rows.next()? {
            tasks.push(task_row(row)??);
        }
        Ok((total, tasks))
    }

    async fn count_tasks(&mut self, list_id: i64, filter: &TaskFilter) -> Result<u64, StoreError> {
        let (sql, values) = count_query(filter, 2, Placeholder::Question);
        let mut bound: Vec<&dyn rusqlite::ToSql> = vec![&list_id];
        bound.extend(values.iter().map(|v| v as &dyn rusqlite::ToSql));
        let n: i64 = self
            .conn()
            .prepare_cached(&sql)?
            .query_row(bound.as_slice(), |r| r.get(0))?;
        Ok(n as u64)
    }

    async fn page_keys(
        &mut self,
        list_id: i64,
        offset: i64,
        limit: u32,
    ) -> Result<Vec<(i64, SortKey)>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT id, sort_key FROM tasks WHERE list_id = ?1 ORDER BY sort_key
             LIMIT ?2 OFFSET ?3",
        )?;
        let rows = stmt.query_map(params![list_id, limit, offset], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        rows.map(|r| {
            let (id, key) = r?;
            Ok((id, parse_key(&key)?))
        })
        .collect()
    }

    // The walk to the offset stays inside an index that holds the keys.
    async fn key_at(
        &mut self,
        list_id: i64,
        offset: i64,
        filter: &TaskFilter,
    ) -> Result<Option<SortKey>, StoreError> {
        let (matching, values) = conditions(filter, 3, Placeholder::Question);
        let mut bound: Vec<&dyn rusqlite::ToSql> = vec![&list_id, &offset];
        bound.extend(values.iter().map(|v| v as &dyn rusqlite::ToSql));
        self.one_key(
            &format!(
                "SELECT sort_key FROM tasks WHERE list_id = ?1{matching}
                 ORDER BY sort_key LIMIT 1 OFFSET ?2"
            ),
            bound.as_slice(),
        )
    }

    async fn key_of(&mut self, list_id: i64, id: i64) -> Result<Option<SortKey>, StoreError> {
        self.one_key(
            "SELECT sort_key FROM tasks WHERE id = ?1 AND list_id = ?2",
            params![id, list_id],
        )
    }

    async fn neighbour(
        &mut self,
        list_id: i64,
        key: Option<&SortKey>,
        side: Side,
        skip: i64,
    ) -> Result<Option<SortKey>, StoreError> {
        // With no key, the comparison is left out by comparing against a bound every key passes.
        let (sql, bound) = match side {
            Side::Before => (
                "SELECT sort_key FROM tasks WHERE list_id = ?1 AND sort_key < ?2 AND id <> ?3
                 ORDER BY sort_key DESC LIMIT 1",
                key.map_or("~", SortKey::as_str),
            ),
            Side::After => (
                "SELECT sort_key FROM tasks WHERE list_id = ?1 AND sort_key > ?2 AND id <> ?3
                 ORDER BY sort_key LIMIT 1",
                key.map_or("", SortKey::as_str),
            ),
        };
        self.one_key(sql, params![list_id, bound, skip])
    }

    async fn in_list(&mut self, list_id: i64, ids: &[i64]) -> Result<Vec<i64>, StoreError> {
        // One statement over the posted ids (a JSON array), not one per id.
        let mut stmt = self.conn().prepare_cached(OWNED)?;
        let ids = json_list(ids.iter(), |out, id| write!(out, "{id}"));
        Ok(stmt
            .query_map(params![list_id, ids], |r| r.get(0))?
            .collect::<Result<_, _>>()?)
    }

    async fn set_keys(
        &mut self,
        list_id: i64,
        keys: &[(i64, SortKey)],
        touched_ms: Option<i64>,
    ) -> Result<(), StoreError> {
        if let [(id, key)] = keys {
            // One task (a move): no other task being rewritten can hold its new key.
            self.conn().prepare_cached(PLACE_ONE)?.execute(params![
                list_id,
                id,
                key.as_str(),
                touched_ms
            ])?;
            return Ok(());
        }
        // Two statements over the whole set, where one statement per task cost a sort of 20
        // tasks 40 statements. A new key may equal the old key of another task being rewritten,
        // and the order index is unique and checked row by row, so the tasks first step aside to
        // keys no real key can take (`~` sorts after every digit).
        let ids = json_list(keys.iter(), |out, (id, _)| write!(out, "{id}"));
        self.conn()
            .prepare_cached(PARK)?
            .execute(params![list_id, ids])?;
        // Keys are digits and letters only, so they need no escaping inside JSON strings.
        let placed = json_list(keys.iter(), |out, (id, key)| {
            write!(out, "[{id},\"{}\"]", key.as_str())
        });
        self.conn()
            .prepare_cached(PLACE)?
            .execute(params![list_id, placed, touched_ms])?;
        Ok(())
    }

    async fn order(&mut self, list_id: i64) -> Result<Vec<i64>, StoreError> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT id FROM tasks WHERE list_id = ?1 ORDER BY sort_key")?;
        Ok(stmt
            .query_map([list_id], |r| r.get(0))?
            .collect::<Result<_, _>>()?)
    }
}

/// A JSON array of `items`, each written by `write`: how a set of values reaches one statement
/// (`json_each`).
fn json_list<T>(
    items: impl Iterator<Item = T>,
    write: impl Fn(&mut String, T) -> std::fmt::Result,
) -> String {
    let mut out = String::from("[");
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        // Writing to a `String` cannot fail.
        let _ = write(&mut out, item);
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each statement over a set of ids reaches its tasks by id, on the SQLite listo ships.
    #[test]
    fn statements_over_a_set_of_ids_seek_each_id() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        super::super::MIGRATIONS.to_latest(&mut conn).unwrap();
        for (sql, args) in [
            (OWNED, params![1, "[1,2]"]),
            (PARK, params![1, "[1,2]"]),
            (PLACE, params![1, r#"[[1,"a"]]"#, None::<i64>]),
        ] {
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map(args, |r| r.get(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let tasks: Vec<&String> = plan.iter().filter(|l| l.contains(" tasks ")).collect();
            assert!(
                !tasks.is_empty() && tasks.iter().all(|l| l.contains("INTEGER PRIMARY KEY")),
                "{sql}\n{plan:#?}"
            );
        }
    }

    /// A list's order is `sort_key` alone, as on PostgreSQL: no two of a list's tasks can hold
    /// one key (the unique `tasks_order` index, on both engines), so no tie is left to break,
    /// and every ordered statement walks that index with no sort of its own.
    #[test]
    fn the_order_is_the_key_alone_walked_in_the_order_index() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        super::super::MIGRATIONS.to_latest(&mut conn).unwrap();
        conn.execute_batch(
            "INSERT INTO users (id, email, password_hash, created_at) VALUES (1, 'a@b.c', 'x', 0);
             INSERT INTO lists (id, owner_id, name, created_at, updated_at) VALUES (1, 1, 'L', 0, 0);
             INSERT INTO tasks (user_id, list_id, date, text, status, sort_key, created_at,
                                updated_at)
             VALUES (1, 1, '2026-01-01', 'one', 'Incomplete', 'm', 0, 0);",
        )
        .unwrap();
        let tie = conn.execute(
            "INSERT INTO tasks (user_id, list_id, date, text, status, sort_key, created_at,
                                updated_at)
             VALUES (1, 1, '2026-01-01', 'two', 'Incomplete', 'm', 0, 0)",
            [],
        );
        let err = tie.expect_err("two tasks of one list took one key");
        assert_eq!(
            err.sqlite_error_code(),
            Some(rusqlite::ErrorCode::ConstraintViolation),
            "{err}"
        );

        let by = concat!("ORDER", " BY sort_key");
        for sql in [
            format!("SELECT id, sort_key FROM tasks WHERE list_id = 1 {by} LIMIT 20 OFFSET 40"),
            format!("SELECT id FROM tasks WHERE list_id = 1 {by}"),
            format!(
                "SELECT {COLUMNS} FROM tasks WHERE list_id = 1 AND sort_key > 'a' {by} LIMIT 21"
            ),
            format!("SELECT sort_key FROM tasks WHERE list_id = 1 {by} LIMIT 1 OFFSET 40"),
            format!(
                "SELECT sort_key FROM tasks WHERE list_id = 1 AND sort_key < 'z' AND id <> 0 {by} DESC LIMIT 1"
            ),
        ] {
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map([], |r| r.get(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let text = plan.join("\n");
            assert!(
                text.contains("tasks_order") && !text.contains("TEMP B-TREE"),
                "{sql}\n{text}"
            );
        }

        // Both engines' ordered statements end the same way, statement for statement.
        let clauses = |source: &str| -> Vec<String> {
            let needle = concat!("ORDER", " BY");
            let mut found: Vec<String> = source
                .match_indices(needle)
                .map(|(at, _)| {
                    let rest = &source[at..];
                    let end = rest.find(['"', '\n']).unwrap_or(rest.len());
                    let clause = rest[..end].split(" LIMIT").next().unwrap_or_default();
                    clause.trim().to_owned()
                })
                .collect();
            found.sort();
            found
        };
        let sqlite = clauses(include_str!("tasks.rs"));
        let postgres = clauses(include_str!("../postgres/tasks.rs"));
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, postgres);
    }
}
