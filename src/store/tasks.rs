//! The `tasks` table and the order keys that place each task in its owner's list.
//!
//! Every statement is scoped by `user_id`: a task id alone never reaches a row.

use super::{StoreError, Tx, from_millis};
use crate::domain::{SortKey, TaskDate, TaskStatus, TaskText};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

/// A stored task.
#[derive(Debug, Clone)]
pub struct Task {
    /// Row id, unique across users.
    pub id: i64,
    /// The day it is for.
    pub date: TaskDate,
    /// What to do.
    pub text: TaskText,
    /// Done or not.
    pub status: TaskStatus,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it last changed (creation, edit or reorder).
    pub updated_at: DateTime<Utc>,
    /// Its place in the owner's order (not shown to clients; cursors carry it).
    pub sort_key: SortKey,
}

/// The fields a partial update may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TaskChanges {
    /// New date.
    pub date: Option<TaskDate>,
    /// New text.
    pub text: Option<TaskText>,
    /// New status.
    pub status: Option<TaskStatus>,
}

const COLUMNS: &str = "id, date, text, status, created_at, updated_at, sort_key";

type RawTask = (i64, String, String, String, i64, i64, String);

fn raw(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawTask> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
    ))
}

fn into_task((id, date, text, status, created, updated, key): RawTask) -> Result<Task, StoreError> {
    let corrupt = |what: &str, e: crate::domain::Invalid| {
        StoreError::Corrupt(format!("task {id} {what}: {e}"))
    };
    Ok(Task {
        id,
        date: TaskDate::parse(&date).map_err(|e| corrupt("date", e))?,
        text: TaskText::parse(&text).map_err(|e| corrupt("text", e))?,
        status: TaskStatus::parse(&status).map_err(|e| corrupt("status", e))?,
        created_at: from_millis(created)?,
        updated_at: from_millis(updated)?,
        sort_key: parse_key(key)?,
    })
}

fn parse_key(raw: String) -> Result<SortKey, StoreError> {
    SortKey::parse(&raw).map_err(|e| StoreError::Corrupt(e.0))
}

/// Inserts a task at `key` and counts it.
pub fn insert(
    tx: &Tx,
    user_id: i64,
    date: TaskDate,
    text: &TaskText,
    status: TaskStatus,
    key: &SortKey,
    now_ms: i64,
) -> Result<Task, StoreError> {
    let row = tx
        .prepare_cached(&format!(
            "INSERT INTO tasks (user_id, date, text, status, sort_key, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING {COLUMNS}"
        ))?
        .query_row(
            params![
                user_id,
                date.to_iso(),
                text.as_str(),
                status.as_str(),
                key.as_str(),
                now_ms
            ],
            raw,
        )?;
    super::users::add_task_count(tx, user_id, 1)?;
    into_task(row)
}

/// The user's task with this id.
pub fn get(tx: &Tx, user_id: i64, id: i64) -> Result<Option<Task>, StoreError> {
    let row = tx
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM tasks WHERE id = ?1 AND user_id = ?2"
        ))?
        .query_row(params![id, user_id], raw)
        .optional()?;
    row.map(into_task).transpose()
}

/// Applies the present fields of `changes`; `None` when the user has no such task.
pub fn update(
    tx: &Tx,
    user_id: i64,
    id: i64,
    changes: &TaskChanges,
    now_ms: i64,
) -> Result<Option<Task>, StoreError> {
    let row = tx
        .prepare_cached(&format!(
            "UPDATE tasks SET date = COALESCE(?3, date), text = COALESCE(?4, text),
                              status = COALESCE(?5, status), updated_at = ?6
             WHERE id = ?1 AND user_id = ?2 RETURNING {COLUMNS}"
        ))?
        .query_row(
            params![
                id,
                user_id,
                changes.date.map(TaskDate::to_iso),
                changes.text.as_ref().map(TaskText::as_str),
                changes.status.map(TaskStatus::as_str),
                now_ms
            ],
            raw,
        )
        .optional()?;
    row.map(into_task).transpose()
}

/// Deletes the user's task; `false` when there was none.
pub fn delete(tx: &Tx, user_id: i64, id: i64) -> Result<bool, StoreError> {
    let deleted = tx.execute(
        "DELETE FROM tasks WHERE id = ?1 AND user_id = ?2",
        params![id, user_id],
    )?;
    if deleted > 0 {
        super::users::add_task_count(tx, user_id, -1)?;
    }
    Ok(deleted > 0)
}

/// Up to `limit` tasks in the user's order that come after `key` (from the start when `None`):
/// a range read of the order index, the same cost at any depth.
pub fn page_after(
    tx: &Tx,
    user_id: i64,
    key: Option<&SortKey>,
    limit: u32,
) -> Result<Vec<Task>, StoreError> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM tasks WHERE user_id = ?1 AND sort_key > ?2 ORDER BY sort_key, id LIMIT ?3"
    ))?;
    // Every key sorts above the empty string.
    let after = key.map_or("", SortKey::as_str);
    let rows = stmt.query_map(params![user_id, after, limit], raw)?;
    rows.map(|r| into_task(r?)).collect()
}

/// The ids and keys of the `limit` tasks after the first `offset` in the user's order, in that
/// order (read from the order index alone).
pub fn page_keys(
    tx: &Tx,
    user_id: i64,
    offset: i64,
    limit: u32,
) -> Result<Vec<(i64, SortKey)>, StoreError> {
    let mut stmt = tx.prepare_cached(
        "SELECT id, sort_key FROM tasks WHERE user_id = ?1 ORDER BY sort_key, id LIMIT ?2 OFFSET ?3",
    )?;
    let rows = stmt.query_map(params![user_id, limit, offset], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    })?;
    rows.map(|r| {
        let (id, key) = r?;
        Ok((id, parse_key(key)?))
    })
    .collect()
}

/// The key of the task at position `offset` (0-based) in the user's order. The walk to it stays
/// inside the order index, which holds the keys: no table row is read on the way.
pub fn key_at(tx: &Tx, user_id: i64, offset: i64) -> Result<Option<SortKey>, StoreError> {
    let key: Option<String> = tx
        .prepare_cached(
            "SELECT sort_key FROM tasks WHERE user_id = ?1 ORDER BY sort_key LIMIT 1 OFFSET ?2",
        )?
        .query_row(params![user_id, offset], |r| r.get(0))
        .optional()?;
    key.map(parse_key).transpose()
}

/// The key of one of the user's tasks.
pub fn key_of(tx: &Tx, user_id: i64, id: i64) -> Result<Option<SortKey>, StoreError> {
    let key: Option<String> = tx
        .prepare_cached("SELECT sort_key FROM tasks WHERE id = ?1 AND user_id = ?2")?
        .query_row(params![id, user_id], |r| r.get(0))
        .optional()?;
    key.map(parse_key).transpose()
}

/// Which side of a key to look on.
#[derive(Debug, Clone, Copy)]
pub enum Side {
    /// The nearest key below.
    Before,
    /// The nearest key above.
    After,
}

/// The nearest key on `side` of `key` (of the whole list when `key` is `None`), ignoring task
/// `skip` so a task being moved is not its own neighbour.
pub fn neighbour(
    tx: &Tx,
    user_id: i64,
    key: Option<&SortKey>,
    side: Side,
    skip: i64,
) -> Result<Option<SortKey>, StoreError> {
    // With no key, the comparison is left out by comparing against a bound every key passes.
    let (sql, bound) = match side {
        Side::Before => (
            "SELECT sort_key FROM tasks WHERE user_id = ?1 AND sort_key < ?2 AND id <> ?3
             ORDER BY sort_key DESC LIMIT 1",
            key.map_or("~", SortKey::as_str),
        ),
        Side::After => (
            "SELECT sort_key FROM tasks WHERE user_id = ?1 AND sort_key > ?2 AND id <> ?3
             ORDER BY sort_key LIMIT 1",
            key.map_or("", SortKey::as_str),
        ),
    };
    let found: Option<String> = tx
        .prepare_cached(sql)?
        .query_row(params![user_id, bound, skip], |r| r.get(0))
        .optional()?;
    found.map(parse_key).transpose()
}

/// The ids among `ids` that belong to the user.
pub fn owned(tx: &Tx, user_id: i64, ids: &[i64]) -> Result<Vec<i64>, StoreError> {
    let mut stmt = tx.prepare_cached("SELECT 1 FROM tasks WHERE id = ?1 AND user_id = ?2")?;
    let mut mine = Vec::with_capacity(ids.len());
    for &id in ids {
        if stmt.exists(params![id, user_id])? {
            mine.push(id);
        }
    }
    Ok(mine)
}

/// Gives one task a key no other task of the user holds (a move); touches `updated_at`.
pub fn set_key(
    tx: &Tx,
    user_id: i64,
    id: i64,
    key: &SortKey,
    now_ms: i64,
) -> Result<(), StoreError> {
    place(tx, user_id, &[(id, key.clone())], Some(now_ms))
}

/// Gives each listed task its new key and touches `updated_at` (a sort).
pub fn set_keys(
    tx: &Tx,
    user_id: i64,
    keys: &[(i64, SortKey)],
    now_ms: i64,
) -> Result<(), StoreError> {
    park(tx, user_id, keys.iter().map(|(id, _)| *id))?;
    place(tx, user_id, keys, Some(now_ms))
}

/// Respaces all of the user's keys evenly, keeping the order; run when a key grew too long.
/// Not a change the user made, so `updated_at` stays.
pub fn rebalance(tx: &Tx, user_id: i64) -> Result<(), StoreError> {
    let ids: Vec<i64> = {
        let mut stmt =
            tx.prepare_cached("SELECT id FROM tasks WHERE user_id = ?1 ORDER BY sort_key, id")?;
        stmt.query_map([user_id], |r| r.get(0))?
            .collect::<Result<_, _>>()?
    };
    let keys: Vec<(i64, SortKey)> = ids
        .iter()
        .copied()
        .zip(SortKey::spread(ids.len()))
        .collect();
    park(tx, user_id, ids.iter().copied())?;
    place(tx, user_id, &keys, None)?;
    tracing::info!(user_id, tasks = ids.len(), "respaced task order keys");
    Ok(())
}

/// Moves tasks out of the way before they take new keys: a new key may equal the old key of
/// another task being rewritten, and the order index is unique, so they first step aside to keys
/// no real key can take (`~` sorts after every digit).
fn park(tx: &Tx, user_id: i64, ids: impl Iterator<Item = i64>) -> Result<(), StoreError> {
    let mut stmt =
        tx.prepare_cached("UPDATE tasks SET sort_key = '~' || id WHERE id = ?1 AND user_id = ?2")?;
    for id in ids {
        stmt.execute(params![id, user_id])?;
    }
    Ok(())
}

/// Writes the keys; `touched_ms` also sets `updated_at` when the user caused the change.
fn place(
    tx: &Tx,
    user_id: i64,
    keys: &[(i64, SortKey)],
    touched_ms: Option<i64>,
) -> Result<(), StoreError> {
    let mut stmt = tx.prepare_cached(
        "UPDATE tasks SET sort_key = ?3, updated_at = COALESCE(?4, updated_at)
         WHERE id = ?1 AND user_id = ?2",
    )?;
    for (id, key) in keys {
        stmt.execute(params![id, user_id, key.as_str(), touched_ms])?;
    }
    Ok(())
}
