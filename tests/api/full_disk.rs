//! SQLite on a full disk: every write answers 503 `unavailable` with `Retry-After` (never 500)
//! and `/readyz` answers 503; once space is back both recover by themselves; after a restart
//! every write answered 2xx is there and none answered 503 is.
//!
//! How the disk is made to refuse writes: a filler file takes every free block of a small tmpfs
//! (`support::disk`). Whether the next commit fails depends on SQLite's WAL. Each commit appends
//! its pages to the `-wal` file as frames of 4,120 bytes, more than a block, so a WAL that only
//! grows needs a new block at once: on a fresh database (its WAL never checkpointed) the first
//! write after the filler fails. After a checkpoint that finished (SQLite's own at 1,000 pages,
//! or `PRAGMA wal_checkpoint(RESTART)`), the next commits start again at the top of the WAL
//! file and rewrite blocks it already holds: those fit on a full disk and are acknowledged,
//! until the WAL reaches its old length. No checkpoint can finish meanwhile (the database file
//! would have to grow to take the new tasks' pages), so the WAL is not reset again. Hence the
//! bounded loop of 1,000-character tasks until the first 503: measured here, none fit on a
//! fresh WAL, and about 65 in a restarted WAL of 565 frames (8-9 frames a task).

use crate::support::disk::FullDisk;
use crate::support::*;
use listo::store::Location;
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

stories!(sqlite => [
    on_a_full_disk_writes_answer_503_then_recover_and_nothing_acknowledged_is_lost,
    writes_that_still_fit_on_a_full_disk_are_kept_and_the_first_refused_is_not,
    a_logout_on_a_full_disk_answers_503_until_stored_then_204_and_survives_a_restart,
]);

/// Creates of 1,000-character tasks tried before giving up on a write failing.
const MAX_FILL_CREATES: usize = 2_000;

/// `POST /v1/tasks` with `text`; the raw answer.
async fn create(app: &TestApp, token: &str, text: &str) -> Response {
    app.send(
        Method::POST,
        "/v1/tasks",
        Some(json!({"date": TASK_DATE, "task": text, "status": "Incomplete"})),
        Some(token),
    )
    .await
}

/// Asserts 503 `unavailable` with a `Retry-After` of whole seconds and a detail saying nothing
/// was changed (a failed SQLite commit never is applied).
async fn assert_unavailable(resp: Response, what: &str) {
    let status = resp.status();
    if status != StatusCode::SERVICE_UNAVAILABLE {
        panic!(
            "{what}: expected 503, got {status}: {}",
            resp.text().await.unwrap()
        );
    }
    let retry: u64 = header(&resp, "retry-after").parse().expect("whole seconds");
    assert!(retry >= 1, "{what}: Retry-After {retry}");
    let problem = assert_problem(resp, 503, "unavailable").await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("nothing was changed"), "{what}: {detail}");
}

/// `GET /readyz`: the status, and the problem's code when it is one.
async fn readyz(app: &TestApp) -> (u16, Option<String>) {
    let resp = app.send(Method::GET, "/readyz", None, None).await;
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or_default();
    (status, body["code"].as_str().map(str::to_owned))
}

/// Polls `/readyz` until it answers `status`, for at most `within`.
async fn wait_for_readyz(app: &TestApp, status: u16, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let (now, code) = readyz(app).await;
        if now == status {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz still {now} {code:?} after {within:?}, expected {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Creates tasks of 1,000 characters until one answers 503 `unavailable` (the disk is full);
/// adds those acknowledged to `acknowledged` and returns the text of the one refused.
async fn create_until_refused(
    app: &TestApp,
    token: &str,
    acknowledged: &mut Vec<String>,
) -> String {
    for i in 0..MAX_FILL_CREATES {
        let text = format!("{i:04} {}", "x".repeat(995));
        let resp = create(app, token, &text).await;
        if resp.status() == StatusCode::CREATED {
            acknowledged.push(text);
            continue;
        }
        assert_unavailable(resp, &format!("create {i} on a full disk")).await;
        return text;
    }
    panic!("no create failed after {MAX_FILL_CREATES} tasks of 1,000 characters on a full disk")
}

/// A listo whose SQLite file is on `disk`, with sessions long enough for a slow story; the
/// file's path.
async fn app_on(disk: &FullDisk) -> (TestApp, std::path::PathBuf) {
    let db = disk.path().join("listo.db");
    let app = spawn_app_with(|c| {
        c.database = Location::Sqlite(db.clone());
        c.session_ttl = Duration::from_secs(3600);
    })
    .await;
    (app, db)
}

/// Every task text of the user, in list order.
async fn texts(app: &TestApp, token: &str) -> Vec<String> {
    let mut all = Vec::new();
    for page in 1.. {
        let items = app.list(token, page, 100).await["items"].clone();
        let items = items.as_array().unwrap();
        if items.is_empty() {
            return all;
        }
        all.extend(items.iter().map(|t| t["task"].as_str().unwrap().to_owned()));
    }
    unreachable!()
}

async fn on_a_full_disk_writes_answer_503_then_recover_and_nothing_acknowledged_is_lost() {
    // The guard first: dropped last, after the app let go of its files.
    let Some(disk) = FullDisk::mount(16 << 20) else {
        return;
    };
    let (mut app, _) = app_on(&disk).await;
    let user = app.signed_in_user().await;
    let ids = app.create_tasks(&user.token, 3).await;
    let mut acknowledged: Vec<String> = (1..=3).map(|i| format!("task {i}")).collect();
    // A code to redeem while the disk is full (a write: it opens a session).
    let (challenge, code) = app.login_and_read_code(&user.email, PASSWORD).await;

    disk.fill();
    let mut refused = vec![create_until_refused(&app, &user.token, &mut acknowledged).await];
    let filled_with = acknowledged.len() - 3;

    // Every kind of write fails now, and says so with 503, never 500.
    let (status, code_of) = readyz(&app).await;
    assert_eq!((status, code_of.as_deref()), (503, Some("not_ready")));
    refused.push("small, while full".into());
    assert_unavailable(
        create(&app, &user.token, "small, while full").await,
        "a small create",
    )
    .await;
    let edit = app
        .send(
            Method::PATCH,
            &format!("/v1/tasks/{}", ids[0]),
            Some(json!({"task": "edited while full"})),
            Some(&user.token),
        )
        .await;
    assert_unavailable(edit, "an edit").await;
    let reversed: Vec<i64> = ids.iter().rev().copied().collect();
    assert_unavailable(app.sort_page(&user.token, 1, 3, &reversed).await, "a sort").await;
    let delete = app.delete_task(&user.token, ids[1]).await;
    assert_unavailable(delete, "a delete").await;
    assert_unavailable(
        app.register("full@example.com", PASSWORD).await,
        "a registration",
    )
    .await;
    assert_unavailable(app.verify(&challenge, &code).await, "a verify").await;
    // Reads still answer, and so does liveness: `listo healthcheck` (Docker's HEALTHCHECK)
    // must not restart a process whose disk is full.
    assert_eq!(app.list_page(&user.token, 1, 3).await, ids);
    assert_eq!(
        app.send(Method::GET, "/healthz", None, None).await.status(),
        200
    );
    let port = app.base.rsplit(':').next().unwrap();
    // (tokio's Command: the server runs on this test's one thread, which must not block.)
    let healthcheck = tokio::process::Command::new(env!("CARGO_BIN_EXE_listo"))
        .arg("healthcheck")
        .env_clear()
        .env("LISTO_ADDR", format!("127.0.0.1:{port}"))
        .output()
        .await
        .expect("listo runs");
    assert!(
        healthcheck.status.success(),
        "listo healthcheck on a full disk: {}",
        String::from_utf8_lossy(&healthcheck.stderr)
    );
    // Past the few seconds a failure is remembered, the probe's own write decides: still no.
    tokio::time::sleep(listo::store::FAILURE_HOLD).await;
    assert_eq!(
        readyz(&app).await.0,
        503,
        "the probe write fits on a full disk"
    );

    // Room again: readiness comes back by itself, and so do writes.
    disk.free();
    wait_for_readyz(&app, 200, Duration::from_secs(20)).await;
    let after = create(&app, &user.token, "after the disk was freed").await;
    assert_eq!(after.status(), StatusCode::CREATED);
    acknowledged.push("after the disk was freed".into());
    // The verify that failed changed nothing: the same code still signs in.
    let verified = app.verify(&challenge, &code).await;
    assert_eq!(verified.status(), StatusCode::OK, "the code survived");

    app.restart().await;
    assert_eq!(texts(&app, &user.token).await, acknowledged);
    for text in &refused {
        assert!(!acknowledged.contains(text));
    }
    // The refused sort left the order as it was, the edit and delete left the tasks alone,
    // and the refused registration stored no account.
    assert_eq!(app.list_page(&user.token, 1, 3).await, ids);
    let first = app.get(&format!("/v1/tasks/{}", ids[0]), &user.token).await;
    assert_eq!(body(first).await["task"], "task 1");
    assert_eq!(
        app.register("full@example.com", PASSWORD).await.status(),
        StatusCode::CREATED
    );
    println!(
        "full disk: {filled_with} tasks of 1,000 characters fitted after the filler, then 503"
    );
    app.stop().await;
}

/// Checkpoints the app's WAL from a connection of the test's own, in RESTART mode: every frame
/// is copied into the database file and the next commit starts again at the top of the WAL
/// file, which keeps its length. Returns how many frames the WAL held.
fn checkpoint_restart(db: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    let (busy, frames, done): (i64, i64, i64) = conn
        .query_row("PRAGMA wal_checkpoint(RESTART)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!((busy, done), (0, frames), "the checkpoint finished");
    frames
}

async fn writes_that_still_fit_on_a_full_disk_are_kept_and_the_first_refused_is_not() {
    let Some(disk) = FullDisk::mount(16 << 20) else {
        return;
    };
    let (mut app, db) = app_on(&disk).await;
    let user = app.signed_in_user().await;
    let mut acknowledged = Vec::new();
    for i in 0..60 {
        let text = format!("before {i:02} {}", "y".repeat(990));
        app.create_task(&user.token, &text).await;
        acknowledged.push(text);
    }
    let frames = checkpoint_restart(&db);

    disk.fill();
    let refused = create_until_refused(&app, &user.token, &mut acknowledged).await;
    let fitted = acknowledged.len() - 60;
    println!("full disk: a WAL of {frames} frames took {fitted} more tasks before a 503");
    assert!(
        fitted > 0,
        "the restarted WAL's {frames} frames took no task"
    );
    let (status, code) = readyz(&app).await;
    assert_eq!((status, code.as_deref()), (503, Some("not_ready")));

    disk.free();
    wait_for_readyz(&app, 200, Duration::from_secs(20)).await;
    app.restart().await;
    let kept = texts(&app, &user.token).await;
    assert_eq!(kept.len(), acknowledged.len());
    assert!(
        kept == acknowledged,
        "every acknowledged task, in order, and no other"
    );
    assert!(!kept.contains(&refused));
    app.stop().await;
}

async fn a_logout_on_a_full_disk_answers_503_until_stored_then_204_and_survives_a_restart() {
    let Some(disk) = FullDisk::mount(16 << 20) else {
        return;
    };
    let (mut app, _) = app_on(&disk).await;
    let user = app.signed_in_user().await;
    let logout = |token: String| {
        let app = &app;
        async move {
            app.send(Method::POST, "/v1/auth/logout", None, Some(&token))
                .await
        }
    };

    disk.fill();
    create_until_refused(&app, &user.token, &mut Vec::new()).await;
    // Not stored: not done. The token is refused here at once all the same.
    assert_unavailable(logout(user.token.clone()).await, "a logout on a full disk").await;
    let refused = app.get("/v1/auth/session", &user.token).await;
    assert_problem(refused, 401, "session_revoked").await;
    // A retry is not told the logout happened while it still waits.
    assert_unavailable(logout(user.token.clone()).await, "the retried logout").await;

    // Room again: listo stores the logout by itself; the retry answers 204, as the first
    // would have.
    disk.free();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let resp = logout(user.token.clone()).await;
        if resp.status() == StatusCode::NO_CONTENT {
            break;
        }
        assert_unavailable(resp, "a logout retried while it waits").await;
        assert!(
            tokio::time::Instant::now() < deadline,
            "the logout was never stored"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Stored: a restart does not bring the token back (before, it answered 200 here).
    app.restart().await;
    let after = app.get("/v1/auth/session", &user.token).await;
    assert_problem(after, 401, "session_revoked").await;
    app.stop().await;
}
