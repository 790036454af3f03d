//! The `changes` feed. Triggers on `tasks` (migration 0007) write it; this reads and sweeps it.

use super::SqliteTx;
use super::tasks::task_at;
use crate::domain::{Change, ChangeSeq};
use crate::store::{Changes, Horizon, Signal, StoreError};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

#[async_trait]
impl Changes for SqliteTx<'_> {
    async fn changes_after(
        &mut self,
        user_id: i64,
        since: ChangeSeq,
        limit: u32,
    ) -> Result<Vec<Change>, StoreError> {
        // A tombstone finds no task: the join leaves its columns NULL.
        let mut stmt = self.conn().prepare_cached(
            "SELECT c.seq, c.task_id, t.id, t.date, t.text, t.status, t.created_at, t.updated_at,
                    t.sort_key, t.version
             FROM changes c LEFT JOIN tasks t ON t.id = c.task_id
             WHERE c.user_id = ?1 AND c.seq > ?2
             ORDER BY c.seq LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![user_id, since.get(), limit], |row| {
            let task = match row.get::<_, Option<i64>>(2)? {
                Some(_) => Some(task_at(row, 2)?),
                None => None,
            };
            Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?, task))
        })?;
        rows.map(|row| {
            let (seq, id, task) = row?;
            Ok(Change {
                seq: ChangeSeq::from_stored(seq),
                id,
                task: task.transpose()?,
            })
        })
        .collect()
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
                 FROM (SELECT user_id, max(seq) AS seq FROM changes
                       WHERE deleted = 1 AND at < ?1 GROUP BY user_id) AS gone
                 WHERE users.id = gone.user_id",
            )?
            .execute([before_ms])?;
        Ok(self
            .conn()
            .prepare_cached("DELETE FROM changes WHERE deleted = 1 AND at < ?1")?
            .execute([before_ms])?)
    }

    async fn announce(&mut self, user_id: i64, signal: Signal) -> Result<(), StoreError> {
        self.announced.push((user_id, signal));
        Ok(())
    }
}
