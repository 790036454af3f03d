//! A full queue in front of the database: the request past it is turned away at once with 503
//! `busy` and `Retry-After`, and changes nothing; the requests already waiting go through.

use crate::support::*;
use listo::store::Location;
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

stories!(sqlite, postgres => [
    a_request_past_a_full_queue_answers_busy_and_changes_nothing,
]);

/// Time for a request sent to reach its place in the queue (a loopback round trip and a
/// little work), so the three are normally queued in the order sent.
const SETTLE: Duration = Duration::from_millis(400);

/// Another client holding the database's write lock, as a long transaction would.
enum WriteLock {
    Sqlite(rusqlite::Connection),
    Postgres(tokio_postgres::Client),
}

impl WriteLock {
    /// Takes the lock on the app's database: SQLite's one writer slot, or PostgreSQL's tasks
    /// table against every insert.
    async fn take(database: &Location) -> Self {
        match database {
            Location::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).unwrap();
                conn.execute_batch("BEGIN IMMEDIATE").unwrap();
                WriteLock::Sqlite(conn)
            }
            Location::Postgres(url) => {
                let client = crate::support::postgres::connect(url.expose()).await;
                client
                    .batch_execute("BEGIN; LOCK TABLE tasks IN EXCLUSIVE MODE")
                    .await
                    .unwrap();
                WriteLock::Postgres(client)
            }
        }
    }

    /// Lets go, changing nothing.
    async fn release(self) {
        match self {
            WriteLock::Sqlite(conn) => conn.execute_batch("ROLLBACK").unwrap(),
            WriteLock::Postgres(client) => client.batch_execute("ROLLBACK").await.unwrap(),
        }
    }
}

/// With one request allowed to wait (and, on PostgreSQL, one connection), three creates are sent
/// while another client holds the database's write lock: one is stuck behind the lock, one
/// waits for it, and the one past them finds the queue full. It answers 503 `busy` with
/// `Retry-After` at once, while the lock is still held; once the lock goes, every create that
/// answered 201 is stored and the refused one is nowhere. (Which of the three is refused depends
/// on how a loaded machine schedules them; normally the third.)
async fn a_request_past_a_full_queue_answers_busy_and_changes_nothing() {
    let app = spawn_app_with(|c| {
        c.database_queue = 1;
        c.database_pool = 1;
    })
    .await;
    // The sweeper's and the mail worker's first rounds take the one connection at start; a
    // sign-in racing them would find the queue full.
    tokio::time::sleep(SETTLE).await;
    let user = app.signed_in_user().await;
    let create = |text: &'static str| {
        app.send(
            Method::POST,
            "/v1/tasks",
            Some(json!({"date": TASK_DATE, "task": text, "status": "Incomplete"})),
            Some(&user.token),
        )
    };

    let lock = WriteLock::take(&app.config().database).await;
    let first = create("first");
    let second = async {
        tokio::time::sleep(SETTLE).await;
        create("second").await
    };
    let third = async {
        tokio::time::sleep(SETTLE * 2).await;
        let third = create("third");
        tokio::pin!(third);
        // A refusal comes at once; a request that queued instead would wait for the lock, so
        // the lock goes after a while either way (inside SQLite's 5 s busy timeout).
        let at_once = tokio::time::timeout(Duration::from_secs(2), &mut third).await;
        lock.release().await;
        match at_once {
            Ok(resp) => resp,
            Err(_) => third.await,
        }
    };
    let (first, second, third) = tokio::join!(first, second, third);

    let mut stored = Vec::new();
    let mut refused = 0;
    for (text, resp) in [("first", first), ("second", second), ("third", third)] {
        if resp.status() == 201 {
            stored.push(text);
            continue;
        }
        refused += 1;
        assert_eq!(header(&resp, "retry-after"), "1", "{text}");
        let problem = assert_problem(resp, 503, "busy").await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains("busy") && detail.contains("retry"),
            "{detail}"
        );
        assert!(!detail.contains("queue"), "internals in {detail}");
    }
    // A queue is full only while the lock holds it up: a refusal came while the lock was held.
    assert!(refused >= 1, "no create was turned away: {stored:?}");

    let page = app.list(&user.token, 1, 100).await;
    let texts: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["task"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts, stored,
        "exactly the creates that answered 201, in order"
    );
    assert_eq!(page["total_items"], stored.len());
    assert_eq!(app.count_rows("tasks").await, stored.len() as i64);
}

/// `busy` is declared on every operation that reaches the store, with `Retry-After`.
#[test]
fn every_operation_declares_busy() {
    let doc: serde_json::Value = serde_json::from_str(&listo::api::spec()).unwrap();
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/v1/") {
            continue;
        }
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let answer = &operation["responses"]["503"];
            let description = answer["description"].as_str().unwrap_or_default();
            assert!(
                description.contains("`busy`"),
                "{method} {path} does not declare busy: {answer}"
            );
            assert!(
                answer["headers"]["Retry-After"].is_object(),
                "{method} {path}: {answer}"
            );
        }
    }
    assert!(operations > 10, "{operations} operations");
}
