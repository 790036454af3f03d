//! The `users` table.

use super::PgTx;
use crate::domain::{DEFAULT_LIST_NAME, ListName};
use crate::store::rows::User;
use crate::store::{ListRows, StoreError, Users, from_millis};
use async_trait::async_trait;
use tokio_postgres::Row;

const COLUMNS: &str = "id, email, password_hash, created_at, default_list_id";

fn into_user(row: &Row) -> Result<User, StoreError> {
    let id = row.try_get(0)?;
    let list: Option<i64> = row.try_get(4)?;
    Ok(User {
        id,
        email: row.try_get(1)?,
        password_hash: row.try_get(2)?,
        default_list_id: list
            .ok_or_else(|| StoreError::corrupt(format!("user {id} has no default list")))?,
        created_at: from_millis(row.try_get(3)?)?,
    })
}

#[async_trait]
impl Users for PgTx<'_> {
    async fn insert_user(
        &mut self,
        email: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> Result<Option<User>, StoreError> {
        let row = self
            .opt(
                "INSERT INTO users (email, password_hash, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (email) DO NOTHING RETURNING id",
                &[&email, &password_hash, &now_ms],
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        let id: i64 = row.try_get(0)?;
        let name = ListName::parse(DEFAULT_LIST_NAME).expect("the default name is a valid name");
        self.insert_list(id, &name, true, now_ms).await?;
        self.user_by_id(id).await
    }

    async fn user_by_email(&mut self, email: &str) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE email = $1");
        let row = self.opt(&sql, &[&email]).await?;
        row.as_ref().map(into_user).transpose()
    }

    async fn user_by_id(&mut self, id: i64) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
        let row = self.opt(&sql, &[&id]).await?;
        row.as_ref().map(into_user).transpose()
    }

    async fn set_password(&mut self, user_id: i64, password_hash: &str) -> Result<(), StoreError> {
        self.exec(
            "UPDATE users SET password_hash = $2 WHERE id = $1",
            &[&user_id, &password_hash],
        )
        .await?;
        Ok(())
    }

    // Foreign keys cascade the delete to tasks, sessions and challenges.
    async fn delete_user(&mut self, user_id: i64) -> Result<bool, StoreError> {
        Ok(self
            .exec("DELETE FROM users WHERE id = $1", &[&user_id])
            .await?
            > 0)
    }
}
