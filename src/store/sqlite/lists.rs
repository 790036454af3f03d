//! The `lists` table. Every statement is scoped by the owner: another user's list id reaches
//! no row.

use super::SqliteTx;
use crate::domain::{List, ListName};
use crate::store::rows::{LIST_COLUMNS, ListColumns};
use crate::store::{ListRows, StoreError};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

/// `LIST_COLUMNS` from column `first` on as a list: the outer error is SQLite's, the inner one
/// a value listo could not have stored.
pub(super) fn list_at(
    r: &rusqlite::Row<'_>,
    first: usize,
) -> rusqlite::Result<Result<List, StoreError>> {
    Ok(ListColumns {
        id: r.get(first)?,
        name: r.get(first + 1)?,
        owner_id: r.get(first + 2)?,
        owner_email: r.get(first + 3)?,
        is_default: r.get(first + 4)?,
        task_count: r.get(first + 5)?,
        version: r.get(first + 6)?,
        created_at: r.get(first + 7)?,
        updated_at: r.get(first + 8)?,
    }
    .into_list())
}

/// A row of `LIST_COLUMNS` as a list.
fn list_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<List, StoreError>> {
    list_at(r, 0)
}

impl SqliteTx<'_> {
    /// One list of the user's (or none).
    fn one_list(&self, user_id: i64, id: i64) -> Result<Option<List>, StoreError> {
        self.conn()
            .prepare_cached(&format!(
                "SELECT {LIST_COLUMNS} FROM lists l JOIN users o ON o.id = l.owner_id
                 WHERE l.id = ?1 AND l.owner_id = ?2"
            ))?
            .query_row(params![id, user_id], list_row)
            .optional()?
            .transpose()
    }
}

#[async_trait]
impl ListRows for SqliteTx<'_> {
    async fn insert_list(
        &mut self,
        owner: i64,
        name: &ListName,
        is_default: bool,
        now_ms: i64,
    ) -> Result<List, StoreError> {
        let id: i64 = self
            .conn()
            .prepare_cached(
                "INSERT INTO lists (owner_id, name, is_default, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?4) RETURNING id",
            )?
            .query_row(params![owner, name.as_str(), is_default, now_ms], |r| {
                r.get(0)
            })?;
        if is_default {
            self.conn()
                .prepare_cached("UPDATE users SET default_list_id = ?2 WHERE id = ?1")?
                .execute(params![owner, id])?;
        }
        self.one_list(owner, id)?
            .ok_or_else(|| StoreError::corrupt(format!("list {id} vanished as it was made")))
    }

    async fn list(&mut self, user_id: i64, id: i64) -> Result<Option<List>, StoreError> {
        self.one_list(user_id, id)
    }

    async fn lists(&mut self, user_id: i64) -> Result<Vec<List>, StoreError> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT {LIST_COLUMNS} FROM lists l JOIN users o ON o.id = l.owner_id
             WHERE l.owner_id = ?1 ORDER BY l.is_default DESC, l.id"
        ))?;
        let rows = stmt.query_map([user_id], list_row)?;
        rows.map(|r| r?).collect()
    }

    async fn rename_list(
        &mut self,
        user_id: i64,
        id: i64,
        name: &ListName,
        now_ms: i64,
    ) -> Result<Option<List>, StoreError> {
        let changed = self
            .conn()
            .prepare_cached(
                "UPDATE lists SET name = ?3, updated_at = ?4, version = version + 1
                 WHERE id = ?1 AND owner_id = ?2",
            )?
            .execute(params![id, user_id, name.as_str(), now_ms])?;
        if changed == 0 {
            return Ok(None);
        }
        self.one_list(user_id, id)
    }

    async fn delete_list(&mut self, user_id: i64, id: i64) -> Result<bool, StoreError> {
        // Its tasks leave the owner's total before the foreign key cascades them away.
        self.conn()
            .prepare_cached(
                "UPDATE users SET task_count = task_count -
                     (SELECT task_count FROM lists WHERE id = ?2 AND owner_id = ?1 AND is_default = 0)
                 WHERE id = ?1
                   AND EXISTS (SELECT 1 FROM lists WHERE id = ?2 AND owner_id = ?1 AND is_default = 0)",
            )?
            .execute(params![user_id, id])?;
        let deleted = self
            .conn()
            .prepare_cached("DELETE FROM lists WHERE id = ?1 AND owner_id = ?2 AND is_default = 0")?
            .execute(params![id, user_id])?;
        Ok(deleted > 0)
    }

    async fn count_lists(&mut self, user_id: i64) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn()
            .prepare_cached("SELECT count(*) FROM lists WHERE owner_id = ?1")?
            .query_row([user_id], |r| r.get(0))?;
        Ok(n as u64)
    }

    async fn owned_tasks(&mut self, user_id: i64) -> Result<u64, StoreError> {
        let n: Option<i64> = self
            .conn()
            .prepare_cached("SELECT task_count FROM users WHERE id = ?1")?
            .query_row([user_id], |r| r.get(0))
            .optional()?;
        Ok(n.unwrap_or(0).max(0) as u64)
    }
}
