//! `listo copy`: a SQLite database with several users and thousands of tasks, moved into
//! PostgreSQL by the real binary, serves the same accounts, sessions, tasks and order.

use crate::support::postgres::fresh_database;
use crate::support::*;
use listo::store::Location;
use reqwest::Method;
use serde_json::json;
use std::collections::BTreeMap;
use std::process::Output;

stories!(postgres => [
    a_copied_database_serves_the_same_users_sessions_tasks_and_order,
]);

const LISTO: &str = env!("CARGO_BIN_EXE_listo");

/// Runs `listo copy --from <file> --to <url>` with a clean environment.
fn run_copy(from: &std::path::Path, to: &str) -> Output {
    std::process::Command::new(LISTO)
        .args(["copy", "--from"])
        .arg(from)
        .args(["--to", to])
        .env_clear()
        .output()
        .expect("listo runs")
}

/// Creates `n` tasks for `token`, 16 requests at a time (a SQLite write waits for its fsync;
/// side by side they share one).
async fn create_many(app: &TestApp, token: &str, n: usize) {
    let mut pending = tokio::task::JoinSet::new();
    for i in 0..n {
        let (http, base, token) = (app.http.clone(), app.base.clone(), token.to_owned());
        pending.spawn(async move {
            let resp = http
                .post(format!("{base}/v1/tasks"))
                .bearer_auth(token)
                .json(&json!({"date": "2026-11-25", "task": format!("task {i}"), "status": "Incomplete"}))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 201);
        });
        if pending.len() >= 16 {
            pending.join_next().await.unwrap().unwrap();
        }
    }
    while let Some(done) = pending.join_next().await {
        done.unwrap();
    }
}

async fn a_copied_database_serves_the_same_users_sessions_tasks_and_order() {
    // The source: a listo on a SQLite file, used for a while.
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("listo.db");
    let sqlite = Location::Sqlite(file.clone());
    // Thousands of requests can take past the 30 s default session on a loaded machine.
    let long = std::time::Duration::from_secs(600);
    let mut source = spawn_app_with(|c| {
        c.database = sqlite.clone();
        c.session_ttl = long;
    })
    .await;
    let sizes = [
        ("ada@example.com", 2_000),
        ("bob@example.com", 1_000),
        ("cy@example.com", 10),
        ("dee@example.com", 0),
    ];
    let mut users = Vec::new();
    for (email, n) in sizes {
        let user = source.sign_in_as(email).await;
        create_many(&source, &user.token, n).await;
        users.push(user);
    }
    // Give the order some history: moves, a sorted page, and a deleted task at the top of the
    // ids (its id must never be handed out again).
    let ada = &users[0];
    let order = source.list_all(&ada.token).await;
    for (id, target) in [
        (order[1500], json!({"to": "start"})),
        (order[3], json!({"after_id": order[1999]})),
    ] {
        assert_eq!(source.move_task(&ada.token, id, target).await.status(), 200);
    }
    let mut page = source.list_page(&ada.token, 2, 50).await;
    page.reverse();
    assert_eq!(
        source.sort_page(&ada.token, 2, 50, &page).await.status(),
        200
    );
    let doomed = source.create_task(&users[2].token, "short-lived").await["id"]
        .as_i64()
        .unwrap();
    let resp = source.delete_task(&users[2].token, doomed).await;
    assert_eq!(resp.status(), 204);
    let mut before = BTreeMap::new();
    for user in &users {
        before.insert(user.email.clone(), source.list_all(&user.token).await);
    }
    // Cy's change feed, whole (the tombstone too) and from a position inside it.
    let cy = &users[2].token;
    let cy_feed = source.changes_page(cy, "limit=500").await;
    let cy_mid = source.changes_page(cy, "limit=4").await["next_since"]
        .as_str()
        .unwrap()
        .to_owned();
    let cy_after_mid = source
        .changes_page(cy, &format!("since={cy_mid}&limit=500"))
        .await;

    // While the source is served, the copy refuses: writes after its snapshot would be lost.
    let target = fresh_database();
    let busy = run_copy(&file, &target);
    assert!(!busy.status.success(), "copied a file still being served");
    assert!(
        String::from_utf8_lossy(&busy.stderr).contains("another listo process"),
        "{busy:?}"
    );

    source.stop().await;
    let copied = run_copy(&file, &target);
    let said = String::from_utf8_lossy(&copied.stdout);
    assert!(copied.status.success(), "{copied:?}");
    assert!(
        said.contains("copied 4 users, 3010 tasks and 4 live sessions"),
        "{said}"
    );

    // A second copy into the now-full target is refused and changes nothing.
    let again = run_copy(&file, &target);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("not empty"),
        "{again:?}"
    );

    // listo on PostgreSQL serves what the file held.
    let postgres = Location::parse(&target).unwrap();
    let app = spawn_app_with(|c| {
        c.database = postgres.clone();
        c.session_ttl = long;
    })
    .await;
    for user in &users {
        // Sessions came along (and the secret that hashes their tokens).
        let resp = app
            .send(Method::GET, "/v1/auth/session", None, Some(&user.token))
            .await;
        assert_eq!(
            resp.status(),
            200,
            "{}'s session after the copy",
            user.email
        );
        assert_eq!(
            app.list_all(&user.token).await,
            before[&user.email],
            "{}'s order",
            user.email
        );
        let page = app.list(&user.token, 1, 20).await;
        assert_eq!(
            page["total_items"].as_u64().unwrap() as usize,
            before[&user.email].len()
        );
    }
    // Clients following the feed go on where they were: the same entries, the same numbers.
    assert_eq!(app.changes_page(cy, "limit=500").await, cy_feed);
    assert_eq!(
        app.changes_page(cy, &format!("since={cy_mid}&limit=500"))
            .await,
        cy_after_mid
    );
    let newer = app.create_task(cy, "after the copy").await["id"]
        .as_i64()
        .unwrap();
    let last = cy_feed["next_since"].as_str().unwrap();
    let page = app.changes_page(cy, &format!("since={last}")).await;
    let seq: i64 = last.parse().unwrap();
    assert_eq!(page["changes"][0]["id"], newer);
    assert_eq!(page["changes"][0]["seq"], seq + 1, "{page}");
    // The old password still signs in, and sees the same tasks.
    let (challenge, code) = app.login_and_read_code("bob@example.com", PASSWORD).await;
    let token = app.verified_token(&challenge, &code).await;
    assert_eq!(app.list_all(&token).await, before["bob@example.com"]);
    // Ids go on from the highest ever handed out, the deleted one included.
    let next = app.create_task(&token, "after the move").await["id"]
        .as_i64()
        .unwrap();
    assert!(next > doomed, "id {next} reused one at or below {doomed}");
    // A new account gets a new id too.
    assert_eq!(
        app.register("eve@example.com", PASSWORD).await.status(),
        201
    );
    // Sign-ins came with their refresh tokens: each chain goes on in PostgreSQL.
    for user in &users {
        let refreshed = app.refresh(user.refresh.as_deref().unwrap()).await;
        assert_eq!(refreshed.status(), 200, "{}'s refresh", user.email);
    }
}
