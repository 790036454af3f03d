//! The `tasks` table and the order keys that place each task in its list.
//!
//! Every statement is scoped: by `user_id` (the owner) for one task, by `list_id` for an order.
//! A task id alone never reaches a row. The order is `sort_key` in byte order (the column's
//! collation is "C"), unique per list.

use super::PgTx;
use crate::domain::{SortKey, Task, TaskChanges, TaskDate, TaskFilter, TaskStatus, TaskText};
use crate::store::filter_sql::{Placeholder, conditions, count_query};
use crate::store::rows::{TaskColumns, parse_key};
use crate::store::tx::NewTask;
use crate::store::{Side, StoreError, TaskRows};
use async_trait::async_trait;
use tokio_postgres::Row;
use tokio_postgres::types::{ToSql, Type};

const COLUMNS: &str = "id, list_id, date, text, status, created_at, updated_at, sort_key, version";

pub(super) fn into_task(row: &Row) -> Result<Task, StoreError> {
    task_at(row, 0)
}

/// The columns of `COLUMNS` from `first` on, as a task.
pub(super) fn task_at(row: &Row, first: usize) -> Result<Task, StoreError> {
    TaskColumns {
        id: row.try_get(first)?,
        list_id: row.try_get(first + 1)?,
        date: row.try_get::<_, &str>(first + 2)?,
        text: row.try_get::<_, &str>(first + 3)?,
        status: row.try_get::<_, &str>(first + 4)?,
        created_at: row.try_get(first + 5)?,
        updated_at: row.try_get(first + 6)?,
        sort_key: row.try_get::<_, &str>(first + 7)?,
        version: row.try_get(first + 8)?,
    }
    .into_task()
}

fn first_key(row: Option<Row>) -> Result<Option<SortKey>, StoreError> {
    row.map(|r| parse_key(r.try_get(0)?)).transpose()
}

impl PgTx<'_> {
    async fn add_to_task_count(&self, user_id: i64, delta: i64) -> Result<(), StoreError> {
        self.exec(
            "UPDATE users SET task_count = task_count + $2 WHERE id = $1",
            &[&user_id, &delta],
        )
        .await?;
        Ok(())
    }
}

#[async_trait]
impl TaskRows for PgTx<'_> {
    // NO KEY UPDATE: writers to this list wait for each other, while rows that merely reference
    // the list (a new task) do not.
    async fn hold_list(&mut self, list_id: i64) -> Result<(), StoreError> {
        self.opt(
            "SELECT 1 FROM lists WHERE id = $1 FOR NO KEY UPDATE",
            &[&list_id],
        )
        .await?;
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
            .opt(
                &format!(
                    "INSERT INTO tasks (user_id, list_id, date, text, status, sort_key, created_at,
                                        updated_at)
                     VALUES ($1, $7, $2, $3, $4, $5, $6, $6) RETURNING {COLUMNS}"
                ),
                &[
                    &owner,
                    &new.date.to_iso(),
                    &new.text.as_str(),
                    &new.status.as_str(),
                    &new.key.as_str(),
                    &now_ms,
                    &list_id,
                ],
            )
            .await?
            .ok_or_else(|| StoreError::corrupt("INSERT returned no row"))?;
        self.add_to_task_count(owner, 1).await?;
        into_task(&row)
    }

    async fn task(&mut self, user_id: i64, id: i64) -> Result<Option<Task>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM tasks WHERE id = $1 AND user_id = $2");
        let row = self.opt(&sql, &[&id, &user_id]).await?;
        row.as_ref().map(into_task).transpose()
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
            .opt(
                &format!(
                    "UPDATE tasks SET date = COALESCE($3, date), text = COALESCE($4, text),
                                      status = COALESCE($5, status), updated_at = $6,
                                      list_id = COALESCE($7, list_id),
                                      sort_key = COALESCE($8, sort_key), version = version + 1
                     WHERE id = $1 AND user_id = $2 RETURNING {COLUMNS}"
                ),
                &[
                    &id,
                    &user_id,
                    &changes.date.map(TaskDate::to_iso),
                    &changes.text.as_ref().map(TaskText::as_str),
                    &changes.status.map(TaskStatus::as_str),
                    &now_ms,
                    &to.map(|(list, _)| list),
                    &to.map(|(_, key)| key.as_str()),
                ],
            )
            .await?;
        row.as_ref().map(into_task).transpose()
    }

    async fn delete_task(&mut self, user_id: i64, id: i64) -> Result<bool, StoreError> {
        let deleted = self
            .exec(
                "DELETE FROM tasks WHERE id = $1 AND user_id = $2",
                &[&id, &user_id],
            )
            .await?;
        if deleted > 0 {
            self.add_to_task_count(user_id, -1).await?;
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
        // Every key sorts above the empty string.
        let after = key.map_or("", SortKey::as_str);
        let limit = i64::from(limit);
        let (matching, values) = conditions(filter, 4, Placeholder::Dollar);
        // Counted with the same placeholders as the page's own conditions.
        let (count, _) = count_query(filter, 4, Placeholder::Dollar);
        let mut bound: Vec<&(dyn ToSql + Sync)> = vec![&list_id, &after, &limit];
        bound.extend(values.iter().map(|v| v as &(dyn ToSql + Sync)));
        // One statement, one snapshot: the total on every row, and one row with no task when
        // the page is empty.
        let rows = self
            .all(
                &format!(
                    "SELECT c.n, t.* FROM ({count}) c(n) LEFT JOIN LATERAL (
                         SELECT {COLUMNS} FROM tasks WHERE list_id = $1 AND sort_key > $2{matching}
                         ORDER BY sort_key LIMIT $3
                     ) t ON true"
                ),
                &bound,
            )
            .await?;
        let total = match rows.first() {
            Some(row) => row.try_get::<_, Option<i64>>(0)?,
            None => None,
        }
        .ok_or_else(|| StoreError::corrupt(format!("no list {list_id} to count tasks of")))?;
        let mut tasks = Vec::with_capacity(rows.len());
        for row in &rows {
            if row.try_get::<_, Option<i64>>(1)?.is_some() {
                tasks.push(task_at(row, 1)?);
            }
        }
        Ok((total as u64, tasks))
    }

    async fn count_tasks(&mut self, list_id: i64, filter: &TaskFilter) -> Result<u64, StoreError> {
        let (sql, values) = count_query(filter, 2, Placeholder::Dollar);
        let mut bound: Vec<&(dyn ToSql + Sync)> = vec![&list_id];
        bound.extend(values.iter().map(|v| v as &(dyn ToSql + Sync)));
        let row = self
            .opt(&sql, &bound)
            .await?
            .ok_or_else(|| StoreError::corrupt(format!("no list {list_id} to count tasks of")))?;
        Ok(row.try_get::<_, i64>(0)? as u64)
    }

    async fn page_keys(
        &mut self,
        list_id: i64,
        offset: i64,
        limit: u32,
    ) -> Result<Vec<(i64, SortKey)>, StoreError> {
        let rows = self
            .all(
                "SELECT id, sort_key FROM tasks WHERE list_id = $1 ORDER BY sort_key
                 LIMIT $2 OFFSET $3",
                &[&list_id, &i64::from(limit), &offset],
            )
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, parse_key(r.try_get(1)?)?)))
            .collect()
    }

    async fn key_at(
        &mut self,
        list_id: i64,
        offset: i64,
        filter: &TaskFilter,
    ) -> Result<Option<SortKey>, StoreError> {
        let (matching, values) = conditions(filter, 3, Placeholder::Dollar);
        let mut bound: Vec<&(dyn ToSql + Sync)> = vec![&list_id, &offset];
        bound.extend(values.iter().map(|v| v as &(dyn ToSql + Sync)));
        let row = self
            .opt(
                &format!(
                    "SELECT sort_key FROM tasks WHERE list_id = $1{matching}
                     ORDER BY sort_key LIMIT 1 OFFSET $2"
                ),
                &bound,
            )
            .await?;
        first_key(row)
    }

    async fn key_of(&mut self, list_id: i64, id: i64) -> Result<Option<SortKey>, StoreError> {
        let row = self
            .opt(
                "SELECT sort_key FROM tasks WHERE id = $1 AND list_id = $2",
                &[&id, &list_id],
            )
            .await?;
        first_key(row)
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
                "SELECT sort_key FROM tasks WHERE list_id = $1 AND sort_key < $2 AND id <> $3
                 ORDER BY sort_key DESC LIMIT 1",
                key.map_or("~", SortKey::as_str),
            ),
            Side::After => (
                "SELECT sort_key FROM tasks WHERE list_id = $1 AND sort_key > $2 AND id <> $3
                 ORDER BY sort_key LIMIT 1",
                key.map_or("", SortKey::as_str),
            ),
        };
        first_key(self.opt(sql, &[&list_id, &bound, &skip]).await?)
    }

    async fn in_list(&mut self, list_id: i64, ids: &[i64]) -> Result<Vec<i64>, StoreError> {
        // Planned for these ids each time: a cached generic plan read the list's whole order
        // index (15 ms at 100,000 tasks, under the list's lock: sort 100k/1k was 9.8x).
        let rows = self
            .all_planned_now(
                "SELECT id FROM tasks WHERE list_id = $1 AND id = ANY($2)",
                &[(&list_id, Type::INT8), (&ids, Type::INT8_ARRAY)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get(0))
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
            self.exec(
                "UPDATE tasks SET sort_key = $3, updated_at = COALESCE($4, updated_at),
                                  version = version + 1
                 WHERE list_id = $1 AND id = $2",
                &[&list_id, id, &key.as_str(), &touched_ms],
            )
            .await?;
            return Ok(());
        }
        let ids: Vec<i64> = keys.iter().map(|(id, _)| *id).collect();
        let new: Vec<&str> = keys.iter().map(|(_, key)| key.as_str()).collect();
        // The order index is unique and checked row by row, and a new key may be the old key of
        // another task being rewritten: the tasks first step aside to keys no real key can take
        // (`~` sorts after every digit).
        // Both statements planned for these ids each time (see `in_list`).
        self.exec_planned_now(
            "UPDATE tasks SET sort_key = '~' || id WHERE list_id = $1 AND id = ANY($2)",
            &[(&list_id, Type::INT8), (&ids, Type::INT8_ARRAY)],
        )
        .await?;
        self.exec_planned_now(
            "UPDATE tasks t SET sort_key = k.key, updated_at = COALESCE($4, t.updated_at),
                                version = t.version + 1
             FROM unnest($2::bigint[], $3::text[]) AS k(id, key)
             WHERE t.list_id = $1 AND t.id = k.id",
            &[
                (&list_id, Type::INT8),
                (&ids, Type::INT8_ARRAY),
                (&new, Type::TEXT_ARRAY),
                (&touched_ms, Type::INT8),
            ],
        )
        .await?;
        Ok(())
    }

    async fn order(&mut self, list_id: i64) -> Result<Vec<i64>, StoreError> {
        let rows = self
            .all(
                "SELECT id FROM tasks WHERE list_id = $1 ORDER BY sort_key",
                &[&list_id],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?)
    }
}
