//! Writing a copied database for `listo copy`: one transaction, checked before it commits.

use super::PgStore;
use crate::store::StoreError;
use crate::store::copy::{Copied, CopyError, Snapshot, check};
use std::collections::BTreeMap;
use tokio_postgres::Transaction;

/// Rows per INSERT: large enough that a million tasks take seconds, small enough that one
/// statement's arrays stay a few megabytes.
const BATCH: usize = 5_000;

impl PgStore {
    /// Writes `snapshot` into this database, which must hold no users and no tasks; reads the
    /// result back and commits only if it matches.
    pub async fn restore(&self, snapshot: &Snapshot) -> Result<(), CopyError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(StoreError::from)?;
        // Nobody may start writing into the target while it is filled.
        tx.batch_execute("LOCK TABLE users, lists, tasks, sessions, settings IN EXCLUSIVE MODE")
            .await
            .map_err(StoreError::from)?;
        let row = tx
            .query_one(
                "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM tasks)",
                &[],
            )
            .await
            .map_err(StoreError::from)?;
        let (users, tasks): (i64, i64) = (row.get(0), row.get(1));
        if users > 0 || tasks > 0 {
            return Err(CopyError::TargetNotEmpty { users, tasks });
        }
        write(&tx, snapshot).await.map_err(StoreError::from)?;
        let (found, orders) = read_back(&tx).await.map_err(StoreError::from)?;
        check(snapshot, &found, &orders)?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }
}

async fn write(tx: &Transaction<'_>, s: &Snapshot) -> Result<(), tokio_postgres::Error> {
    for (key, value) in &s.settings {
        // The source's secret replaces any a listo started on the empty target made: the
        // copied session tokens are hashed with it.
        tx.execute(
            "INSERT INTO settings (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[key, value],
        )
        .await?;
    }
    for chunk in s.users.chunks(BATCH) {
        let ids: Vec<i64> = chunk.iter().map(|u| u.id).collect();
        let emails: Vec<&str> = chunk.iter().map(|u| u.email.as_str()).collect();
        let hashes: Vec<&str> = chunk.iter().map(|u| u.password_hash.as_str()).collect();
        let created: Vec<i64> = chunk.iter().map(|u| u.created_at).collect();
        let counts: Vec<i64> = chunk.iter().map(|u| u.task_count).collect();
        let defaults: Vec<Option<i64>> = chunk.iter().map(|u| u.default_list_id).collect();
        tx.execute(
            "INSERT INTO users (id, email, password_hash, created_at, task_count, default_list_id)
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[],
                                  $6::bigint[])",
            &[&ids, &emails, &hashes, &created, &counts, &defaults],
        )
        .await?;
    }
    // Counters start at 0: the tasks' trigger counts them in as they arrive.
    for chunk in s.lists.chunks(BATCH) {
        let ids: Vec<i64> = chunk.iter().map(|l| l.id).collect();
        let owners: Vec<i64> = chunk.iter().map(|l| l.owner_id).collect();
        let names: Vec<&str> = chunk.iter().map(|l| l.name.as_str()).collect();
        let defaults: Vec<bool> = chunk.iter().map(|l| l.is_default).collect();
        let versions: Vec<i64> = chunk.iter().map(|l| l.version).collect();
        let created: Vec<i64> = chunk.iter().map(|l| l.created_at).collect();
        let updated: Vec<i64> = chunk.iter().map(|l| l.updated_at).collect();
        tx.execute(
            "INSERT INTO lists (id, owner_id, name, is_default, version, created_at, updated_at)
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bool[],
                                  $5::bigint[], $6::bigint[], $7::bigint[])",
            &[
                &ids, &owners, &names, &defaults, &versions, &created, &updated,
            ],
        )
        .await?;
    }
    for chunk in s.tasks.chunks(BATCH) {
        let column = |f: fn(&crate::store::copy::TaskRow) -> &str| -> Vec<&str> {
            chunk.iter().map(f).collect()
        };
        let ids: Vec<i64> = chunk.iter().map(|t| t.id).collect();
        let users: Vec<i64> = chunk.iter().map(|t| t.user_id).collect();
        let lists: Vec<i64> = chunk.iter().map(|t| t.list_id).collect();
        let created: Vec<i64> = chunk.iter().map(|t| t.created_at).collect();
        let updated: Vec<i64> = chunk.iter().map(|t| t.updated_at).collect();
        let versions: Vec<i64> = chunk.iter().map(|t| t.version).collect();
        tx.execute(
            "INSERT INTO tasks (id, user_id, date, text, status, sort_key, created_at, updated_at,
                               version, list_id)
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[],
                                  $6::text[], $7::bigint[], $8::bigint[], $9::bigint[],
                                  $10::bigint[])",
            &[
                &ids,
                &users,
                &column(|t| &t.date),
                &column(|t| &t.text),
                &column(|t| &t.status),
                &column(|t| &t.sort_key),
                &created,
                &updated,
                &versions,
                &lists,
            ],
        )
        .await?;
    }
    // The triggers numbered the inserted lists and tasks afresh: the source's feed replaces
    // that, so a client following it goes on from the number it holds.
    tx.execute("DELETE FROM changes", &[]).await?;
    for chunk in s.changes.chunks(BATCH) {
        let users: Vec<i64> = chunk.iter().map(|c| c.user_id).collect();
        let lists: Vec<i64> = chunk.iter().map(|c| c.list_id).collect();
        let tasks: Vec<i64> = chunk.iter().map(|c| c.task_id).collect();
        let seqs: Vec<i64> = chunk.iter().map(|c| c.seq).collect();
        let deleted: Vec<bool> = chunk.iter().map(|c| c.deleted).collect();
        let moved: Vec<bool> = chunk.iter().map(|c| c.moved).collect();
        let at: Vec<i64> = chunk.iter().map(|c| c.at).collect();
        tx.execute(
            "INSERT INTO changes (user_id, list_id, task_id, seq, deleted, moved, at)
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[],
                                  $5::bool[], $6::bool[], $7::bigint[])",
            &[&users, &lists, &tasks, &seqs, &deleted, &moved, &at],
        )
        .await?;
    }
    tx.execute("DELETE FROM list_changes", &[]).await?;
    for chunk in s.list_changes.chunks(BATCH) {
        let users: Vec<i64> = chunk.iter().map(|c| c.user_id).collect();
        let lists: Vec<i64> = chunk.iter().map(|c| c.list_id).collect();
        let seqs: Vec<i64> = chunk.iter().map(|c| c.seq).collect();
        let deleted: Vec<bool> = chunk.iter().map(|c| c.deleted).collect();
        let at: Vec<i64> = chunk.iter().map(|c| c.at).collect();
        tx.execute(
            "INSERT INTO list_changes (user_id, list_id, seq, deleted, at)
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bool[],
                                  $5::bigint[])",
            &[&users, &lists, &seqs, &deleted, &at],
        )
        .await?;
    }
    for chunk in s.users.chunks(BATCH) {
        let ids: Vec<i64> = chunk.iter().map(|u| u.id).collect();
        let latest: Vec<i64> = chunk.iter().map(|u| u.change_seq).collect();
        let swept: Vec<i64> = chunk.iter().map(|u| u.changes_swept_seq).collect();
        tx.execute(
            "UPDATE users SET change_seq = feed.latest, changes_swept_seq = feed.swept
             FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS feed(id, latest, swept)
             WHERE users.id = feed.id",
            &[&ids, &latest, &swept],
        )
        .await?;
    }
    for chunk in s.sessions.chunks(BATCH) {
        let hashes: Vec<&[u8]> = chunk.iter().map(|r| r.token_hash.as_slice()).collect();
        let users: Vec<i64> = chunk.iter().map(|r| r.user_id).collect();
        let issued: Vec<i64> = chunk.iter().map(|r| r.issued_at).collect();
        let expires: Vec<i64> = chunk.iter().map(|r| r.expires_at).collect();
        let revoked: Vec<Option<i64>> = chunk.iter().map(|r| r.revoked_at).collect();
        let ids: Vec<&str> = chunk.iter().map(|r| r.public_id.as_str()).collect();
        let agents: Vec<Option<&str>> = chunk.iter().map(|r| r.user_agent.as_deref()).collect();
        let addresses: Vec<Option<&str>> = chunk.iter().map(|r| r.address.as_deref()).collect();
        let generations: Vec<i64> = chunk.iter().map(|r| r.chain.generation).collect();
        let hash =
            |f: fn(&crate::store::rows::StoredChain) -> &Option<Vec<u8>>| -> Vec<Option<&[u8]>> {
                chunk.iter().map(|r| f(&r.chain).as_deref()).collect()
            };
        let (refresh_hashes, parent_hashes) = (hash(|c| &c.refresh_hash), hash(|c| &c.parent_hash));
        let at = |f: fn(&crate::store::rows::StoredChain) -> Option<i64>| -> Vec<Option<i64>> {
            chunk.iter().map(|r| f(&r.chain)).collect()
        };
        tx.execute(
            "INSERT INTO sessions (token_hash, user_id, issued_at, expires_at, revoked_at,
                                   public_id, user_agent, address, generation, refresh_hash,
                                   parent_hash, rotated_at, parent_rotated_at,
                                   refresh_expires_at, max_age_at, last_used_at, grand_hash,
                                   pair_for_parent, pair_for_grand, parent_key_wrap)
             SELECT * FROM unnest($1::bytea[], $2::bigint[], $3::bigint[], $4::bigint[],
                                  $5::bigint[], $6::text[], $7::text[], $8::text[],
                                  $9::bigint[], $10::bytea[], $11::bytea[], $12::bigint[],
                                  $13::bigint[], $14::bigint[], $15::bigint[], $16::bigint[],
                                  $17::bytea[], $18::bytea[], $19::bytea[], $20::bytea[])",
            &[
                &hashes,
                &users,
                &issued,
                &expires,
                &revoked,
                &ids,
                &agents,
                &addresses,
                &generations,
                &refresh_hashes,
                &parent_hashes,
                &at(|c| c.rotated_at),
                &at(|c| c.parent_rotated_at),
                &at(|c| c.refresh_expires_at),
                &at(|c| c.max_age_at),
                &chunk.iter().map(|r| r.last_used_at).collect::<Vec<_>>(),
                &hash(|c| &c.grand_hash),
                &hash(|c| &c.pair_for_parent),
                &hash(|c| &c.pair_for_grand),
                &hash(|c| &c.parent_key_wrap),
            ],
        )
        .await?;
    }
    // The next id handed out follows the highest the source ever handed out.
    for (table, last) in [
        ("users", s.last_user_id),
        ("tasks", s.last_task_id),
        ("lists", s.last_list_id),
    ] {
        tx.execute(
            &format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST($1::bigint, 1), $1::bigint > 0)"
            ),
            &[&last],
        )
        .await?;
    }
    Ok(())
}

/// The counts and every list's order, as the target holds them now.
async fn read_back(
    tx: &Transaction<'_>,
) -> Result<(Copied, BTreeMap<i64, Vec<i64>>), tokio_postgres::Error> {
    let row = tx
        .query_one(
            "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM tasks),
                    (SELECT count(*) FROM sessions), (SELECT count(*) FROM lists)",
            &[],
        )
        .await?;
    let count = |i: usize| row.get::<_, i64>(i) as usize;
    let found = Copied {
        users: count(0),
        lists: count(3),
        tasks: count(1),
        sessions: count(2),
    };
    let orders = tx
        .query(
            "SELECT list_id, array_agg(id ORDER BY sort_key) FROM tasks GROUP BY list_id",
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    Ok((found, orders))
}
