//! Retry-safe writes: `Idempotency-Key` on create, move and sort. A repeat with the same key and
//! the same request answers the first answer again and changes nothing.

use crate::support::*;
use listo::store::Location;
use reqwest::{Method, Response};
use serde_json::{Value, json};

stories!(sqlite, postgres => [
    a_create_retried_with_its_key_makes_one_task_and_answers_the_same_again,
    a_key_used_with_another_body_or_operation_is_422_and_changes_nothing,
    a_retried_move_or_sort_answers_the_first_answer_and_moves_nothing_again,
    a_key_still_running_is_409_and_one_whose_run_stalled_is_taken_over,
]);

impl TestApp {
    /// `method path` with a JSON body, the token and an `Idempotency-Key`.
    async fn send_keyed(
        &self,
        method: Method,
        path: &str,
        body: Value,
        token: &str,
        key: &str,
    ) -> Response {
        let key = reqwest::header::HeaderValue::from_str(key).expect("a header value");
        self.send_with_key(method, path, body, token, key).await
    }
}

/// The new task's body.
fn new_task(text: &str) -> Value {
    json!({"date": "2026-06-01", "task": text, "status": "Incomplete"})
}

async fn a_create_retried_with_its_key_makes_one_task_and_answers_the_same_again() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let key = "3f2c7a1e-0b9d-4e8f-a6c5-1d2e3f405162";

    let first = app
        .send_keyed(
            Method::POST,
            "/v1/tasks",
            new_task("pay rent"),
            &user.token,
            key,
        )
        .await;
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let (location, tag) = (header(&first, "location"), header(&first, "etag"));
    let created = body(first).await;

    let again = app
        .send_keyed(
            Method::POST,
            "/v1/tasks",
            new_task("pay rent"),
            &user.token,
            key,
        )
        .await;
    assert_eq!(again.status(), 201);
    assert_eq!(header(&again, "idempotent-replayed"), "true");
    assert_eq!(header(&again, "location"), location);
    assert_eq!(header(&again, "etag"), tag);
    assert_eq!(body(again).await, created, "the same body again");
    assert_eq!(app.list_all(&user.token).await.len(), 1, "one task");

    // Keys are per user: someone else's request with the same key is their own.
    let other = app.signed_in_user().await;
    let theirs = app
        .send_keyed(
            Method::POST,
            "/v1/tasks",
            new_task("pay rent"),
            &other.token,
            key,
        )
        .await;
    assert_eq!(theirs.status(), 201);
    assert!(theirs.headers().get("idempotent-replayed").is_none());
    assert_ne!(body(theirs).await["id"], created["id"]);
}

async fn a_key_used_with_another_body_or_operation_is_422_and_changes_nothing() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let first = app
        .send_keyed(
            Method::POST,
            "/v1/tasks",
            new_task("one"),
            &user.token,
            "k-1",
        )
        .await;
    assert_eq!(first.status(), 201);
    let id = body(first).await["id"].as_i64().unwrap();

    let other_body = app
        .send_keyed(
            Method::POST,
            "/v1/tasks",
            new_task("two"),
            &user.token,
            "k-1",
        )
        .await;
    assert_problem(other_body, 422, "idempotency_key_reused").await;
    let other_operation = app
        .send_keyed(
            Method::POST,
            &format!("/v1/tasks/{id}/move"),
            json!({"to": "end"}),
            &user.token,
            "k-1",
        )
        .await;
    assert_problem(other_operation, 422, "idempotency_key_reused").await;
    assert_eq!(app.list_all(&user.token).await, vec![id]);

    for bad in ["has space", &"k".repeat(256)] {
        let resp = app
            .send_keyed(
                Method::POST,
                "/v1/tasks",
                new_task("three"),
                &user.token,
                bad,
            )
            .await;
        assert_invalid_field(resp, "Idempotency-Key").await;
    }
    assert_eq!(app.list_all(&user.token).await, vec![id]);
}

async fn a_retried_move_or_sort_answers_the_first_answer_and_moves_nothing_again() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let ids = app.create_tasks(&user.token, 3).await;
    let token = user.token.as_str();

    let moved = app
        .send_keyed(
            Method::POST,
            &format!("/v1/tasks/{}/move", ids[0]),
            json!({"to": "end"}),
            token,
            "move-1",
        )
        .await;
    assert_eq!(moved.status(), 200);
    let moved = body(moved).await;
    // The list changes in between; the retry must not undo that.
    assert_eq!(
        app.move_task(token, ids[0], json!({"to": "start"}))
            .await
            .status(),
        200
    );
    let again = app
        .send_keyed(
            Method::POST,
            &format!("/v1/tasks/{}/move", ids[0]),
            json!({"to": "end"}),
            token,
            "move-1",
        )
        .await;
    assert_eq!(again.status(), 200);
    assert_eq!(header(&again, "idempotent-replayed"), "true");
    assert_eq!(body(again).await, moved);
    assert_eq!(app.list_all(token).await, ids, "the retry moved nothing");

    let reversed: Vec<i64> = ids.iter().rev().copied().collect();
    let sort = |key: &'static str| {
        let body = json!({"task_ids": reversed});
        let app = &app;
        async move {
            app.send_keyed(
                Method::POST,
                "/v1/tasks/sort?page=1&per_page=3",
                body,
                token,
                key,
            )
            .await
        }
    };
    let first = sort("sort-1").await;
    assert_eq!(first.status(), 200);
    let first = body(first).await;
    assert_eq!(
        app.move_task(token, reversed[0], json!({"to": "end"}))
            .await
            .status(),
        200
    );
    let now = app.list_all(token).await;
    let again = sort("sort-1").await;
    assert_eq!(header(&again, "idempotent-replayed"), "true");
    assert_eq!(body(again).await, first);
    assert_eq!(app.list_all(token).await, now, "the retry sorted nothing");
    // Under a new key the same body is a new request, and runs.
    let fresh = sort("sort-2").await;
    assert_eq!(fresh.status(), 200);
    assert!(fresh.headers().get("idempotent-replayed").is_none());
    assert_eq!(app.list_all(token).await, reversed);
}

async fn a_key_still_running_is_409_and_one_whose_run_stalled_is_taken_over() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let me = body(app.get("/v1/auth/session", &user.token).await).await["user"]["id"]
        .as_i64()
        .unwrap();
    // Another request holds these keys: one started just now, one two minutes ago and never
    // finished (its process died before its write committed).
    let blob = match app.config().database {
        Location::Sqlite(_) => "zeroblob(32)",
        Location::Postgres(_) => "decode(repeat('00', 32), 'hex')",
    };
    let now = chrono::Utc::now().timestamp_millis();
    for (key, at) in [("running", now), ("stalled", now - 120_000)] {
        app.db()
            .execute(&format!(
                "INSERT INTO idempotency_keys (user_id, key, fingerprint, claim, claimed_at)
                 VALUES ({me}, '{key}', {blob}, 'another run', {at})"
            ))
            .await;
    }
    let resp = app
        .send_keyed(
            Method::POST,
            "/v1/tasks",
            new_task("waits"),
            &user.token,
            "running",
        )
        .await;
    assert_problem(resp, 409, "idempotency_in_progress").await;
    assert!(app.list_all(&user.token).await.is_empty());

    let resp = app
        .send_keyed(
            Method::POST,
            "/v1/tasks",
            new_task("runs"),
            &user.token,
            "stalled",
        )
        .await;
    assert_problem(resp, 422, "idempotency_key_reused").await;

    // A run of this very request that stalled (its answer never kept: here, made so by hand) is
    // taken over: the request runs again rather than waiting for ever.
    let keyed = |key: &'static str| {
        let app = &app;
        let token = user.token.clone();
        async move {
            app.send_keyed(Method::POST, "/v1/tasks", new_task("again"), &token, key)
                .await
        }
    };
    assert_eq!(keyed("retaken").await.status(), 201);
    let stalled_at = now - 120_000;
    app.db()
        .execute(&format!(
            "UPDATE idempotency_keys SET status = NULL, body = NULL, location = NULL,
                    claim = 'a dead run', claimed_at = {stalled_at}
             WHERE key = 'retaken'"
        ))
        .await;
    let retaken = keyed("retaken").await;
    assert_eq!(retaken.status(), 201);
    assert!(retaken.headers().get("idempotent-replayed").is_none());
    let replayed = keyed("retaken").await;
    assert_eq!(header(&replayed, "idempotent-replayed"), "true");
    assert_eq!(app.list_all(&user.token).await.len(), 2);
}
