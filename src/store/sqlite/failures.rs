//! The `failures` table: failed sign-ins and wrong codes, counted over sliding windows.

use super::SqliteTx;
use crate::store::{Failures, StoreError};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

#[async_trait]
impl Failures for SqliteTx<'_> {
    async fn record_failures(
        &mut self,
        keys: &[(&str, &str)],
        at_ms: i64,
    ) -> Result<(), StoreError> {
        let mut insert = self
            .conn()
            .prepare_cached("INSERT INTO failures (scope, key, at) VALUES (?1, ?2, ?3)")?;
        for (scope, key) in keys {
            insert.execute(params![scope, key, at_ms])?;
        }
        Ok(())
    }

    async fn failure_limit_reached_at(
        &mut self,
        scope: &str,
        key: &str,
        since_ms: i64,
        limit: u32,
    ) -> Result<Option<i64>, StoreError> {
        let offset = i64::from(limit.max(1)) - 1;
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT at FROM failures WHERE scope = ?1 AND key = ?2 AND at > ?3
                 ORDER BY at DESC LIMIT 1 OFFSET ?4",
            )?
            .query_row(params![scope, key, since_ms, offset], |r| r.get(0))
            .optional()?)
    }

    async fn delete_failures_before(&mut self, before_ms: i64) -> Result<usize, StoreError> {
        Ok(self
            .conn()
            .execute("DELETE FROM failures WHERE at < ?1", [before_ms])?)
    }
}
