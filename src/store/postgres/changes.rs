//! The `changes` feed. A trigger on `tasks` (migration 0006) writes it; this reads and sweeps
//! it, and announces through `NOTIFY`, which PostgreSQL delivers to every listening process
//! when (and only if) the transaction commits.

use super::PgTx;
use super::tasks::into_task;
use crate::domain::{Change, ChangeSeq};
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
        since: ChangeSeq,
        limit: u32,
    ) -> Result<Vec<Change>, StoreError> {
        // A tombstone finds no task: the join leaves its columns NULL.
        let rows = self
            .all(
                "SELECT t.id, t.date, t.text, t.status, t.created_at, t.updated_at, t.sort_key,
                        t.version, c.seq, c.task_id
                 FROM changes c LEFT JOIN tasks t ON t.id = c.task_id
                 WHERE c.user_id = $1 AND c.seq > $2
                 ORDER BY c.seq LIMIT $3",
                &[&user_id, &since.get(), &i64::from(limit)],
            )
            .await?;
        rows.iter()
            .map(|row| {
                let task = match row.try_get::<_, Option<i64>>(0)? {
                    Some(_) => Some(into_task(row)?),
                    None => None,
                };
                Ok(Change {
                    seq: ChangeSeq::from_stored(row.try_get(8)?),
                    id: row.try_get(9)?,
                    task,
                })
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
             FROM (SELECT user_id, max(seq) AS seq FROM changes
                   WHERE deleted AND at < $1 GROUP BY user_id) AS gone
             WHERE users.id = gone.user_id",
            &[&before_ms],
        )
        .await?;
        self.exec(
            "DELETE FROM changes WHERE deleted AND at < $1",
            &[&before_ms],
        )
        .await
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
