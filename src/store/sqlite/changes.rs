//! The `changes` feed. Triggers on `tasks` and `lists` (migration 0013) write it; this reads and
//! sweeps it.

use super::SqliteTx;
use super::lists::list_at;
use super::tasks::task_at;
use crate::domain::{Change, ChangeSeq, Entry, FeedScope};
use crate::store::feed_sql;
use crate::store::filter_sql::Placeholder;
use crate::store::{Changes, Horizon, Signal, StoreError};
use async_trait::async_trait;
use rusqlite::OptionalExtension;

#[async_trait]
impl Changes for SqliteTx<'_> {
    async fn changes_after(
        &mut self,
        user_id: i64,
        scope: FeedScope,
        since: ChangeSeq,
        limit: u32,
    ) -> Result<Vec<Change>, StoreError> {
        let mut stmt = self
            .conn()
            .prepare_cached(&feed_sql::changes_after(scope, Placeholder::Question))?;
        let list = match scope {
            FeedScope::List(id) => Some(id),
            FeedScope::Everything => None,
        };
        let since = since.get();
        let mut bound: Vec<&dyn rusqlite::ToSql> = vec![&user_id, &since, &limit];
        if let Some(list) = &list {
            bound.push(list);
        }
        let mut rows = stmt.query(bound.as_slice())?;
        let mut changes = Vec::new();
        while let Some(row) = rows.next()? {
            let seq = ChangeSeq::from_stored(row.get(0)?);
            let kind: String = row.get(1)?;
            let id: i64 = row.get(2)?;
            let entry = if kind == "list" {
                let list = match row.get::<_, Option<i64>>(feed_sql::LIST_AT)? {
                    Some(_) => Some(list_at(row, feed_sql::LIST_AT)??),
                    None => None,
                };
                Entry::List { id, list }
            } else {
                let task = match row.get::<_, Option<i64>>(feed_sql::TASK_AT)? {
                    Some(_) => Some(task_at(row, feed_sql::TASK_AT)??),
                    None => None,
                };
                Entry::Task {
                    id,
                    list_id: row.get(3)?,
                    task,
                }
            };
            changes.push(Change { seq, entry });
        }
        Ok(changes)
    }

    async fn change_horizon(&mut self, user_id: i64) -> Result<Option<Horizon>, StoreError> {
        Ok(self
            .conn()
            .prepare_cached("SELECT change_seq, changes_swept_seq FROM users WHERE id = ?1")?
            .query_row([user_id], |r| {
                Ok(Horizon {
                    latest: ChangeSeq::from_stored(r.get(0)?),
                    swept: ChangeSeq::from_stored(r.get(1)?),
                })
            })
            .optional()?)
    }

    async fn sweep_tombstones(&mut self, before_ms: i64) -> Result<usize, StoreError> {
        self.conn()
            .prepare_cached(
                "UPDATE users SET changes_swept_seq = max(changes_swept_seq, gone.seq)
                 FROM (SELECT user_id, max(seq) AS seq FROM (
                           SELECT user_id, seq FROM changes WHERE deleted = 1 AND at < ?1
                           UNION ALL
                           SELECT user_id, seq FROM list_changes WHERE deleted = 1 AND at < ?1)
                       GROUP BY user_id) AS gone
                 WHERE users.id = gone.user_id",
            )?
            .execute([before_ms])?;
        let tasks = self
            .conn()
            .prepare_cached("DELETE FROM changes WHERE deleted = 1 AND at < ?1")?
            .execute([before_ms])?;
        let lists = self
            .conn()
            .prepare_cached("DELETE FROM list_changes WHERE deleted = 1 AND at < ?1")?
            .execute([before_ms])?;
        Ok(tasks + lists)
    }

    async fn announce(&mut self, user_id: i64, signal: Signal) -> Result<(), StoreError> {
        self.announced.push((user_id, signal));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::FeedScope;
    use crate::store::feed_sql;
    use crate::store::filter_sql::Placeholder;

    /// Each feed page reads indexes in `seq` order and sorts nothing: one list's feed its own
    /// index (not the user's whole feed filtered), everything both tables merged.
    #[test]
    fn feed_pages_read_indexes_in_order_and_sort_nothing() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        super::super::MIGRATIONS.to_latest(&mut conn).unwrap();
        for (scope, index) in [
            (FeedScope::List(1), "changes_by_list"),
            (FeedScope::Everything, "changes_by_seq"),
        ] {
            let sql = feed_sql::changes_after(scope, Placeholder::Question);
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map(
                    rusqlite::params_from_iter([1, 0, 20, 1].iter().take(
                        if matches!(scope, FeedScope::List(_)) {
                            4
                        } else {
                            3
                        },
                    )),
                    |r| r.get(3),
                )
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let text = plan.join("\n");
            assert!(text.contains(index), "{scope:?}\n{text}");
            assert!(!text.contains("TEMP B-TREE"), "{scope:?}\n{text}");
        }
    }
}
