//! The `changes` feed. Triggers on `tasks` and `lists` (migration 0011) write it; this reads and sweeps
//! it, and announces through `NOTIFY`, which PostgreSQL delivers to every listening process
//! when (and only if) the transaction commits.

use super::PgTx;
use super::lists::list_at;
use super::tasks::task_at;
use crate::domain::{Change, ChangeSeq, Entry, FeedScope};
use crate::store::feed_sql;
use crate::store::filter_sql::Placeholder;
use crate::store::{Changes, Horizon, Signal, StoreError};
use async_trait::async_trait;

/// The channel every listo listens on.
pub(super) const CHANNEL: &str = "listo_signals";

/// A signal as `NOTIFY` carries it: `t:<user id>` or `s:<user id>`.
pub(super) fn payload(user_id: i64, signal: Signal) -> String {
    let kind = match signal {
        Signal::TasksChanged => 't',
        Signal::SessionsEnded => 's',
    };
    format!("{kind}:{user_id}")
}

/// Reads back what [`payload`] wrote; `None` for anything else.
pub(super) fn parse_payload(payload: &str) -> Option<(i64, Signal)> {
    let (kind, user) = payload.split_once(':')?;
    let signal = match kind {
        "t" => Signal::TasksChanged,
        "s" => Signal::SessionsEnded,
        _ => return None,
    };
    Some((user.parse().ok()?, signal))
}

#[async_trait]
impl Changes for PgTx<'_> {
    async fn changes_after(
        &mut self,
        user_id: i64,
        scope: FeedScope,
        since: ChangeSeq,
        limit: u32,
    ) -> Result<Vec<Change>, StoreError> {
        let sql = feed_sql::changes_after(scope, Placeholder::Dollar);
        let (since, limit) = (since.get(), i64::from(limit));
        let rows = match scope {
            FeedScope::List(list) => self.all(&sql, &[&user_id, &since, &limit, &list]).await?,
            FeedScope::Everything => self.all(&sql, &[&user_id, &since, &limit]).await?,
        };
        rows.iter()
            .map(|row| {
                let seq = ChangeSeq::from_stored(row.try_get(0)?);
                let kind: &str = row.try_get(1)?;
                let id: i64 = row.try_get(2)?;
                let entry = if kind == "list" {
                    let list = match row.try_get::<_, Option<i64>>(feed_sql::LIST_AT)? {
                        Some(_) => Some(list_at(row, feed_sql::LIST_AT)?),
                        None => None,
                    };
                    Entry::List { id, list }
                } else {
                    let task = match row.try_get::<_, Option<i64>>(feed_sql::TASK_AT)? {
                        Some(_) => Some(task_at(row, feed_sql::TASK_AT)?),
                        None => None,
                    };
                    Entry::Task {
                        id,
                        list_id: row.try_get(3)?,
                        task,
                    }
                };
                Ok(Change { seq, entry })
            })
            .collect()
    }

    async fn change_horizon(&mut self, user_id: i64) -> Result<Option<Horizon>, StoreError> {
        let row = self
            .opt(
                "SELECT change_seq, changes_swept_seq FROM users WHERE id = $1",
                &[&user_id],
            )
            .await?;
        row.map(|r| {
            Ok(Horizon {
                latest: ChangeSeq::from_stored(r.try_get(0)?),
                swept: ChangeSeq::from_stored(r.try_get(1)?),
            })
        })
        .transpose()
    }

    async fn sweep_tombstones(&mut self, before_ms: i64) -> Result<usize, StoreError> {
        self.exec(
            "UPDATE users SET changes_swept_seq = GREATEST(changes_swept_seq, gone.seq)
             FROM (SELECT user_id, max(seq) AS seq FROM (
                       SELECT user_id, seq FROM changes WHERE deleted AND at < $1
                       UNION ALL
                       SELECT user_id, seq FROM list_changes WHERE deleted AND at < $1) AS old
                   GROUP BY user_id) AS gone
             WHERE users.id = gone.user_id",
            &[&before_ms],
        )
        .await?;
        let tasks = self
            .exec(
                "DELETE FROM changes WHERE deleted AND at < $1",
                &[&before_ms],
            )
            .await?;
        let lists = self
            .exec(
                "DELETE FROM list_changes WHERE deleted AND at < $1",
                &[&before_ms],
            )
            .await?;
        Ok(tasks + lists)
    }

    async fn announce(&mut self, user_id: i64, signal: Signal) -> Result<(), StoreError> {
        self.exec(
            "SELECT pg_notify($1, $2)",
            &[&CHANNEL, &payload(user_id, signal)],
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Signal, parse_payload, payload};

    #[test]
    fn payloads_read_back() {
        for signal in [Signal::TasksChanged, Signal::SessionsEnded] {
            assert_eq!(parse_payload(&payload(42, signal)), Some((42, signal)));
        }
        assert_eq!(parse_payload("x:1"), None);
        assert_eq!(parse_payload("t:one"), None);
    }
}
