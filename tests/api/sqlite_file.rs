//! The SQLite file itself: one listo per file, and a file written by an older release upgraded
//! in place with every row and id kept.

use crate::support::*;
use reqwest::Method;

stories!(sqlite => [
    a_second_listo_on_the_same_file_is_refused_naming_listo_database,
    a_version_1_database_keeps_every_row_and_id_and_never_reuses_one,
    a_stored_text_that_is_not_utf8_is_a_bare_500_not_an_answer,
]);

async fn a_second_listo_on_the_same_file_is_refused_naming_listo_database() {
    let app = spawn_app().await;
    let mut config = app.config().clone();
    config.addr = "127.0.0.1:0".parse().unwrap();
    let err = match listo::App::build(config).await {
        Ok(_) => panic!("a second listo started on the same file"),
        Err(e) => e.to_string(),
    };
    assert!(err.starts_with("LISTO_DATABASE"), "{err}");
    assert!(err.contains("another listo process"), "{err}");
    // The first one is unharmed.
    assert_eq!(
        app.send(Method::GET, "/readyz", None, None).await.status(),
        200
    );
}

/// Writes a database the way the release before ids-never-reused did: schema version 1, one
/// user with an argon2 hash, tasks 1..=4 with task 5 (the newest) already deleted.
fn write_version_1_database(path: &std::path::Path, email: &str) {
    use argon2::password_hash::PasswordHasher as _;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let db = rusqlite::Connection::open(path).unwrap();
    db.execute_batch(include_str!("../../migrations/sqlite/0001_init.sql"))
        .unwrap();
    db.pragma_update(None, "user_version", 1).unwrap();
    let hash = argon2::Argon2::default()
        .hash_password(PASSWORD.as_bytes())
        .unwrap()
        .to_string();
    db.execute(
        "INSERT INTO users (id, email, password_hash, created_at, task_count) VALUES (7, ?1, ?2, 0, 4)",
        rusqlite::params![email, hash],
    )
    .unwrap();
    let keys = listo::domain::SortKey::spread(4);
    // Stored order differs from id order: 3, 1, 4, 2.
    for (id, key) in [3, 1, 4, 2].into_iter().zip(&keys) {
        db.execute(
            "INSERT INTO tasks (id, user_id, date, text, status, sort_key, created_at, updated_at)
             VALUES (?1, 7, '2026-03-01', ?2, 'Incomplete', ?3, 0, 0)",
            rusqlite::params![id, format!("task {id}"), key.as_str()],
        )
        .unwrap();
    }
}

async fn a_version_1_database_keeps_every_row_and_id_and_never_reuses_one() {
    let mut app = spawn_app().await;
    app.stop().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", app.db_path().display()));
    }
    write_version_1_database(app.db_path(), "old@example.com");
    app.restart().await;

    let (challenge, code) = app.login_and_read_code("old@example.com", PASSWORD).await;
    let resp = app.verify(&challenge, &code).await;
    assert_eq!(resp.status(), 200, "the old password hash still signs in");
    let token = body(resp).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.list_all(&token).await,
        vec![3, 1, 4, 2],
        "rows, ids and order kept"
    );

    let new = app.create_task(&token, "after the upgrade").await["id"]
        .as_i64()
        .unwrap();
    assert_eq!(new, 5, "the sequence starts after the highest id present");
    let resp = app
        .send(Method::DELETE, "/v1/tasks/5", None, Some(&token))
        .await;
    assert_eq!(resp.status(), 204);
    let newer = app.create_task(&token, "newer").await["id"]
        .as_i64()
        .unwrap();
    assert_eq!(newer, 6, "a deleted id is not handed out again");
    let user = app.signed_in_user().await;
    let resp = app.get("/v1/auth/session", &user.token).await;
    assert!(body(resp).await["user"]["id"].as_i64().unwrap() > 7);
}

async fn a_stored_text_that_is_not_utf8_is_a_bare_500_not_an_answer() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let id = app.create_task(&user.token, "fine").await["id"]
        .as_i64()
        .unwrap();
    // SQLite keeps whatever bytes it is given as TEXT; listo never writes these.
    app.db()
        .execute(&format!(
            "UPDATE tasks SET text = CAST(x'66ff6e65' AS TEXT) WHERE id = {id}"
        ))
        .await;
    app.assert_reads_fail_bare(&user.token, id, "text not UTF-8")
        .await;
    assert!(
        captured_logs().contains("invalid utf-8"),
        "the bad text was logged for the operator"
    );
}
