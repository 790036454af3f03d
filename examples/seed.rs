//! Seeds a benchmark database through listo's storage layer (no HTTP, so it takes seconds).
//!
//!   cargo run --release --example seed -- <database path or postgres:// URL>   (bench/run.sh does this)
//!
//! Every user's password is `bench password 1`. Users and task counts are listed in `USERS`.

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
/// Other users, so the tables hold more than the measured lists.
const FILLER_USERS: usize = 1_000;
const FILLER_TASKS: usize = 20;

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
    let filler = (0..FILLER_USERS).map(|i| (format!("filler{i}@bench.example"), FILLER_TASKS));
    let all: Vec<(String, usize)> = USERS
        .iter()
        .map(|&(e, n)| (e.to_owned(), n))
        .chain(filler)
        .collect();
    let mut total = 0;
    for (email, n) in all {
        let hash = hash.clone();
        store
            .write(move |tx| {
                Box::pin(async move {
                    let now = chrono::Utc::now().timestamp_millis();
                    let user = tx
                        .insert_user(&email, &hash, now)
                        .await?
                        .ok_or_else(|| StoreError::Corrupt(format!("{email} already seeded")))?;
                    let date = TaskDate::parse("2026-11-24").expect("valid date");
                    let mut key: Option<SortKey> = None;
                    for i in 0..n {
                        let next = SortKey::between(key.as_ref(), None);
                        let text = TaskText::parse(&format!("bench task {i}")).expect("valid text");
                        let new = NewTask {
                            date,
                            text: &text,
                            status: TaskStatus::Incomplete,
                            key: &next,
                        };
                        tx.insert_task(user.id, new, now).await?;
                        key = Some(next);
                    }
                    Ok::<_, StoreError>(())
                })
            })
            .await?;
        total += n;
    }
    println!(
        "seeded {} users and {total} tasks into {} in {:.1} s",
        USERS.len() + FILLER_USERS,
        Location::parse(&path)?,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
