//! The `failures` table: failed sign-ins and wrong codes, counted over sliding windows.

use super::{StoreError, Tx};
use rusqlite::{OptionalExtension, params};

/// Records one failure under each `(scope, key)`.
pub fn record(tx: &Tx, keys: &[(&str, &str)], at_ms: i64) -> Result<(), StoreError> {
    let mut insert =
        tx.prepare_cached("INSERT INTO failures (scope, key, at) VALUES (?1, ?2, ?3)")?;
    for (scope, key) in keys {
        insert.execute(params![scope, key, at_ms])?;
    }
    Ok(())
}

/// When `limit` or more failures fall after `since_ms`: the time of the one that has to leave
/// the window before another attempt fits (the `limit`-th newest). `None` while under the limit.
pub fn limit_reached_at(
    tx: &Tx,
    scope: &str,
    key: &str,
    since_ms: i64,
    limit: u32,
) -> Result<Option<i64>, StoreError> {
    let offset = i64::from(limit.max(1)) - 1;
    Ok(tx
        .prepare_cached(
            "SELECT at FROM failures WHERE scope = ?1 AND key = ?2 AND at > ?3
             ORDER BY at DESC LIMIT 1 OFFSET ?4",
        )?
        .query_row(params![scope, key, since_ms, offset], |r| r.get(0))
        .optional()?)
}

/// Deletes failures older than `cutoff_ms`; returns how many.
pub fn delete_before(tx: &Tx, cutoff_ms: i64) -> Result<usize, StoreError> {
    Ok(tx.execute("DELETE FROM failures WHERE at < ?1", [cutoff_ms])?)
}
