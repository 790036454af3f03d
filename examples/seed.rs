//! Seeds a benchmark database through listo's storage layer (no HTTP, so it takes seconds).
//!
//!   cargo run --release --example seed -- <database path or postgres:// URL>   (bench/run.sh does this)
//!
//! Every user's password is `bench password 1`. Users and task counts are listed in `USERS`; besides
//! them come `CREATORS` users with empty lists and `FILLER_USERS` with a few tasks each.

use listo::domain::{SortKey, TaskDate, TaskStatus, TaskText};
use listo::store::{Location, NewTask, Store, StoreError};

/// The password of every seeded user.
const PASSWORD: &str = "bench password 1";

/// (email, tasks) for the users the scenarios sign in as.
const USERS: &[(&str, usize)] = &[
    ("list100@bench.example", 100),
    ("list10k@bench.example", 10_000),
    ("list100k@bench.example", 100_000),
    ("sort1k@bench.example", 1_000),
    ("sort100k@bench.example", 100_000),
    ("writer@bench.example", 0),
    ("storm@bench.example", 0),
];
/// Users with empty lists `creator0..` for the many-users create scenario: one per wrk connection.
const CREATORS: usize = 32;
/// Other users, so the tables hold more than the measured lists.
const FILLER_USERS: usize = 1_000;
const FILLER_TASKS: usize = 20;
/// Tasks inserted per transaction. Each insert also bumps the owner's task counter, and PostgreSQL
/// cannot prune the row versions a transaction leaves behind before it ends: with one list per
/// transaction, seeding PostgreSQL took 10 minutes instead of 30 seconds.
const TASKS_PER_TRANSACTION: usize = 1_000;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: seed <database path or postgres:// URL>")?;
    let store = Store::open(&Location::parse(&path)?, 1).await?;
    let hash = {
        use argon2::password_hash::PasswordHasher;
        argon2::Argon2::default()
            .hash_password(PASSWORD.as_bytes())?
            .to_string()
    };
    let started = std::time::Instant::now();
    let creators = (0..CREATORS).map(|i| (format!("creator{i}@bench.example"), 0));
    let filler = (0..FILLER_USERS).map(|i| (format!("filler{i}@bench.example"), FILLER_TASKS));
    let all: Vec<(String, usize)> = USERS
        .iter()
        .map(|&(e, n)| (e.to_owned(), n))
        .chain(creators)
        .chain(filler)
        .collect();
    let mut total = 0;
    for (email, n) in all {
        let hash = hash.clone();
        let (user_id, list_id) = store
            .write(move |tx| {
                Box::pin(async move {
                    let now = chrono::Utc::now().timestamp_millis();
                    let user = tx
                        .insert_user(&email, &hash, now)
                        .await?
                        .ok_or_else(|| StoreError::corrupt(format!("{email} already seeded")))?;
                    Ok::<_, StoreError>((user.id, user.default_list_id))
                })
            })
            .await?;
        let mut key: Option<SortKey> = None;
        for start in (0..n).step_by(TASKS_PER_TRANSACTION) {
            let end = (start + TASKS_PER_TRANSACTION).min(n);
            key = store
                .write(move |tx| {
                    Box::pin(async move {
                        let now = chrono::Utc::now().timestamp_millis();
                        let date = TaskDate::parse("2026-11-24").expect("valid date");
                        let mut key = key;
                        for i in start..end {
                            let next = SortKey::between(key.as_ref(), None);
                            let text =
                                TaskText::parse(&format!("bench task {i}")).expect("valid text");
                            let new = NewTask {
                                date,
                                text: &text,
                                // Every other task done, so a status filter passes half of a list.
                                status: if i % 2 == 0 {
                                    TaskStatus::Incomplete
                                } else {
                                    TaskStatus::Completed
                                },
                                key: &next,
                            };
                            tx.insert_task(user_id, list_id, new, now).await?;
                            key = Some(next);
                        }
                        Ok::<_, StoreError>(key)
                    })
                })
                .await?;
        }
        total += n;
    }
    println!(
        "seeded {} users and {total} tasks into {} in {:.1} s",
        USERS.len() + CREATORS + FILLER_USERS,
        Location::parse(&path)?,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
