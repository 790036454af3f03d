//! The `lists` table. Every statement is scoped by the owner: another user's list id reaches
//! no row.

use super::PgTx;
use crate::domain::{List, ListName};
use crate::store::rows::{LIST_COLUMNS, ListColumns};
use crate::store::{ListRows, StoreError};
use async_trait::async_trait;
use tokio_postgres::Row;

/// `LIST_COLUMNS` from column `first` on as a list.
pub(super) fn list_at(r: &Row, first: usize) -> Result<List, StoreError> {
    ListColumns {
        id: r.try_get(first)?,
        name: r.try_get(first + 1)?,
        owner_id: r.try_get(first + 2)?,
        owner_email: r.try_get(first + 3)?,
        is_default: r.try_get(first + 4)?,
        task_count: r.try_get(first + 5)?,
        version: r.try_get(first + 6)?,
        created_at: r.try_get(first + 7)?,
        updated_at: r.try_get(first + 8)?,
    }
    .into_list()
}

impl PgTx<'_> {
    /// One list of the user's (or none).
    async fn one_list(&self, user_id: i64, id: i64) -> Result<Option<List>, StoreError> {
        let sql = format!(
            "SELECT {LIST_COLUMNS} FROM lists l JOIN users o ON o.id = l.owner_id
             WHERE l.id = $1 AND l.owner_id = $2"
        );
        let row = self.opt(&sql, &[&id, &user_id]).await?;
        row.map(|r| list_at(&r, 0)).transpose()
    }
}

#[async_trait]
impl ListRows for PgTx<'_> {
    async fn insert_list(
        &mut self,
        owner: i64,
        name: &ListName,
        is_default: bool,
        now_ms: i64,
    ) -> Result<List, StoreError> {
        let row = self
            .opt(
                "INSERT INTO lists (owner_id, name, is_default, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $4) RETURNING id",
                &[&owner, &name.as_str(), &is_default, &now_ms],
            )
            .await?
            .ok_or_else(|| StoreError::corrupt("INSERT returned no row"))?;
        let id: i64 = row.try_get(0)?;
        if is_default {
            self.exec(
                "UPDATE users SET default_list_id = $2 WHERE id = $1",
                &[&owner, &id],
            )
            .await?;
        }
        self.one_list(owner, id)
            .await?
            .ok_or_else(|| StoreError::corrupt(format!("list {id} vanished as it was made")))
    }

    async fn list(&mut self, user_id: i64, id: i64) -> Result<Option<List>, StoreError> {
        self.one_list(user_id, id).await
    }

    async fn lists(&mut self, user_id: i64) -> Result<Vec<List>, StoreError> {
        let sql = format!(
            "SELECT {LIST_COLUMNS} FROM lists l JOIN users o ON o.id = l.owner_id
             WHERE l.owner_id = $1 ORDER BY l.is_default DESC, l.id"
        );
        let rows = self.all(&sql, &[&user_id]).await?;
        rows.iter().map(|r| list_at(r, 0)).collect()
    }

    async fn rename_list(
        &mut self,
        user_id: i64,
        id: i64,
        name: &ListName,
        now_ms: i64,
    ) -> Result<Option<List>, StoreError> {
        let changed = self
            .exec(
                "UPDATE lists SET name = $3, updated_at = $4, version = version + 1
                 WHERE id = $1 AND owner_id = $2",
                &[&id, &user_id, &name.as_str(), &now_ms],
            )
            .await?;
        if changed == 0 {
            return Ok(None);
        }
        self.one_list(user_id, id).await
    }

    async fn delete_list(&mut self, user_id: i64, id: i64) -> Result<bool, StoreError> {
        // Its tasks leave the owner's total, in the statement that deletes it (the foreign key
        // cascades them away).
        let deleted = self
            .exec(
                "WITH gone AS (
                     DELETE FROM lists WHERE id = $1 AND owner_id = $2 AND NOT is_default
                     RETURNING owner_id, task_count)
                 UPDATE users u SET task_count = u.task_count - gone.task_count
                 FROM gone WHERE u.id = gone.owner_id",
                &[&id, &user_id],
            )
            .await?;
        Ok(deleted > 0)
    }

    async fn count_lists(&mut self, user_id: i64) -> Result<u64, StoreError> {
        let row = self
            .opt(
                "SELECT count(*) FROM lists WHERE owner_id = $1",
                &[&user_id],
            )
            .await?
            .ok_or_else(|| StoreError::corrupt("count returned no row"))?;
        Ok(row.try_get::<_, i64>(0)? as u64)
    }

    async fn owned_tasks(&mut self, user_id: i64) -> Result<u64, StoreError> {
        let row = self
            .opt("SELECT task_count FROM users WHERE id = $1", &[&user_id])
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<_, i64>(0)?.max(0) as u64,
            None => 0,
        })
    }
}
