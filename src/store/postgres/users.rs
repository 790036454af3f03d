//! The `users` table.

use super::PgTx;
use crate::store::rows::User;
use crate::store::{StoreError, Users, from_millis};
use async_trait::async_trait;
use tokio_postgres::Row;

const COLUMNS: &str = "id, email, password_hash, created_at";

fn into_user(row: &Row) -> Result<User, StoreError> {
    Ok(User {
        id: row.try_get(0)?,
        email: row.try_get(1)?,
        password_hash: row.try_get(2)?,
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
                &format!(
                    "INSERT INTO users (email, password_hash, created_at) VALUES ($1, $2, $3)
                     ON CONFLICT (email) DO NOTHING RETURNING {COLUMNS}"
                ),
                &[&email, &password_hash, &now_ms],
            )
            .await?;
        row.as_ref().map(into_user).transpose()
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
