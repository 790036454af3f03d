//! The `users` table.

use super::SqliteTx;
use crate::domain::{DEFAULT_LIST_NAME, ListName};
use crate::store::rows::User;
use crate::store::{ListRows, StoreError, Users, from_millis};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

const COLUMNS: &str = "id, email, password_hash, created_at, default_list_id";

type UserColumns = (i64, String, String, i64, Option<i64>);

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<UserColumns> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn into_user((id, email, password_hash, created, list): UserColumns) -> Result<User, StoreError> {
    Ok(User {
        id,
        email,
        password_hash,
        default_list_id: list
            .ok_or_else(|| StoreError::corrupt(format!("user {id} has no default list")))?,
        created_at: from_millis(created)?,
    })
}

impl SqliteTx<'_> {
    fn user_where(
        &self,
        filter: &str,
        value: &dyn rusqlite::ToSql,
    ) -> Result<Option<User>, StoreError> {
        let row = self
            .conn()
            .prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE {filter} = ?1"))?
            .query_row([value], from_row)
            .optional()?;
        row.map(into_user).transpose()
    }
}

#[async_trait]
impl Users for SqliteTx<'_> {
    async fn insert_user(
        &mut self,
        email: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> Result<Option<User>, StoreError> {
        let id: Option<i64> = self
            .conn()
            .query_row(
                "INSERT INTO users (email, password_hash, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (email) DO NOTHING RETURNING id",
                params![email, password_hash, now_ms],
                |r| r.get(0),
            )
            .optional()?;
        let Some(id) = id else { return Ok(None) };
        let name = ListName::parse(DEFAULT_LIST_NAME).expect("the default name is a valid name");
        self.insert_list(id, &name, true, now_ms).await?;
        self.user_where("id", &id)
    }

    async fn user_by_email(&mut self, email: &str) -> Result<Option<User>, StoreError> {
        self.user_where("email", &email)
    }

    async fn user_by_id(&mut self, id: i64) -> Result<Option<User>, StoreError> {
        self.user_where("id", &id)
    }

    async fn set_password(&mut self, user_id: i64, password_hash: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE users SET password_hash = ?2 WHERE id = ?1",
            params![user_id, password_hash],
        )?;
        Ok(())
    }

    // Foreign keys cascade the delete to tasks, sessions and challenges.
    async fn delete_user(&mut self, user_id: i64) -> Result<bool, StoreError> {
        Ok(self
            .conn()
            .execute("DELETE FROM users WHERE id = ?1", [user_id])?
            > 0)
    }
}

/// Moves the user's task counter by `delta`.
pub(super) fn add_task_count(
    conn: &rusqlite::Connection,
    user_id: i64,
    delta: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE users SET task_count = task_count + ?2 WHERE id = ?1")?
        .execute(params![user_id, delta])?;
    Ok(())
}
