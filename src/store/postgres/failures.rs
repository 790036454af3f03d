//! The `failures` table: failed sign-ins and wrong codes, counted over sliding windows. Every
//! process counts into the same table, so limits hold across processes.

use super::PgTx;
use crate::store::{Failures, StoreError};
use async_trait::async_trait;

#[async_trait]
impl Failures for PgTx<'_> {
    async fn record_failures(
        &mut self,
        keys: &[(&str, &str)],
        at_ms: i64,
    ) -> Result<(), StoreError> {
        let scopes: Vec<&str> = keys.iter().map(|(scope, _)| *scope).collect();
        let names: Vec<&str> = keys.iter().map(|(_, key)| *key).collect();
        self.exec(
            "INSERT INTO failures (scope, key, at) SELECT s, k, $3 FROM unnest($1::text[], $2::text[]) AS f(s, k)",
            &[&scopes, &names, &at_ms],
        )
        .await?;
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
        let row = self
            .opt(
                "SELECT at FROM failures WHERE scope = $1 AND key = $2 AND at > $3
                 ORDER BY at DESC LIMIT 1 OFFSET $4",
                &[&scope, &key, &since_ms, &offset],
            )
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    async fn delete_failures_before(&mut self, before_ms: i64) -> Result<usize, StoreError> {
        self.exec("DELETE FROM failures WHERE at < $1", &[&before_ms])
            .await
    }
}
