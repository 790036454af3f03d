//! Kept answers of keyed writes: stored compressed, bounded per user
//! (`LISTO_IDEMPOTENCY_BYTES_PER_USER`: past it a keyed write is 429 and does nothing), still
//! replayed when kept before they were compressed; and an `Idempotency-Key` that is not 1..255
//! visible ASCII characters is 422, never taken for no key.

use crate::support::*;
use reqwest::header::HeaderValue;
use reqwest::{Method, Response};
use serde_json::json;

stories!(sqlite, postgres => [
    past_the_kept_answers_quota_a_keyed_write_is_429_and_does_nothing,
    a_sorted_page_is_kept_in_far_fewer_bytes_than_its_json,
    an_answer_kept_before_answers_were_compressed_still_replays,
    a_key_that_is_not_visible_ascii_is_422_naming_the_header_and_nothing_is_created,
]);

impl TestApp {
    /// `POST /v1/tasks` creating `text`, with `key`.
    async fn create_with_key(&self, token: &str, text: &str, key: &str) -> Response {
        let task = json!({"date": TASK_DATE, "task": text, "status": "Incomplete"});
        let key = HeaderValue::from_str(key).unwrap();
        self.send_with_key(Method::POST, "/v1/tasks", task, token, key)
            .await
    }

    /// The signed-in user's id.
    async fn user_id(&self, token: &str) -> i64 {
        body(self.get("/v1/auth/session", token).await).await["user"]["id"]
            .as_i64()
            .unwrap()
    }

    /// Bytes the user's kept answers take, as the rows record them.
    async fn kept_bytes(&self, user: i64) -> i64 {
        self.db()
            .integer(&format!(
                "SELECT CAST(coalesce(sum(stored_bytes), 0) AS BIGINT) FROM idempotency_keys
                 WHERE user_id = {user}"
            ))
            .await
    }
}

const DAY_SECS: u64 = 24 * 60 * 60;

async fn past_the_kept_answers_quota_a_keyed_write_is_429_and_does_nothing() {
    // One byte: the first kept answer fills it.
    let app = spawn_app_with(|config| config.quotas.idempotency_bytes = Some(1)).await;
    let user = app.signed_in_user().await;
    let token = user.token.as_str();
    let me = app.user_id(token).await;

    let first = app.create_with_key(token, "kept", "k-1").await;
    assert_eq!(first.status(), 201);
    let first = body(first).await;
    let used = app.kept_bytes(me).await;
    assert!(used > 0, "the answer is kept and counted");

    let refused = app.create_with_key(token, "refused", "k-2").await;
    let retry_after: u64 = header(&refused, "retry-after").parse().unwrap();
    let problem = assert_problem(refused, 429, "quota_exceeded").await;
    assert_eq!(problem["limit"], 1);
    assert_eq!(problem["used"], used);
    // Until the one answer kept expires, a day after it was taken.
    assert!(
        (DAY_SECS - 60..=DAY_SECS).contains(&retry_after),
        "Retry-After {retry_after}"
    );
    // Move and sort are keyed writes too.
    let id = first["id"].as_i64().unwrap();
    let key = || HeaderValue::from_static("k-3");
    let moved = app
        .send_with_key(
            Method::POST,
            &format!("/v1/tasks/{id}/move"),
            json!({"to": "start"}),
            token,
            key(),
        )
        .await;
    assert_problem(moved, 429, "quota_exceeded").await;
    let sorted = app
        .send_with_key(
            Method::POST,
            "/v1/tasks/sort?page=1&per_page=20",
            json!({"task_ids": [id]}),
            token,
            key(),
        )
        .await;
    assert_problem(sorted, 429, "quota_exceeded").await;
    assert_eq!(app.list_all(token).await, vec![id], "nothing was created");
    assert_eq!(app.kept_bytes(me).await, used, "nor kept");

    // A repeat of a kept answer costs nothing: it is answered.
    let again = app.create_with_key(token, "kept", "k-1").await;
    assert_eq!(again.status(), 201);
    assert_eq!(header(&again, "idempotent-replayed"), "true");
    assert_eq!(body(again).await, first);
    // Without a key nothing is kept, so nothing is limited.
    let plain = app.create_task(token, "unkeyed").await["id"]
        .as_i64()
        .unwrap();
    assert_eq!(app.list_all(token).await, vec![id, plain]);
    // The quota is each user's own.
    let other = app.signed_in_user().await;
    let theirs = app.create_with_key(&other.token, "theirs", "k-2").await;
    assert_eq!(theirs.status(), 201);

    // A day on, the kept answer has expired (whether or not the sweeper has deleted it yet):
    // the refused request now runs.
    let day_ago = chrono::Utc::now().timestamp_millis() - (DAY_SECS as i64 + 1) * 1000;
    app.db()
        .execute(&format!(
            "UPDATE idempotency_keys SET claimed_at = {day_ago} WHERE user_id = {me}"
        ))
        .await;
    let later = app.create_with_key(token, "refused", "k-2").await;
    assert_eq!(later.status(), 201);
    assert!(later.headers().get("idempotent-replayed").is_none());
    assert_eq!(app.list_all(token).await.len(), 3);
}

async fn a_sorted_page_is_kept_in_far_fewer_bytes_than_its_json() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let token = user.token.as_str();
    let me = app.user_id(token).await;
    let ids = app.create_tasks(token, 100).await;
    let reversed: Vec<i64> = ids.iter().rev().copied().collect();

    let sort = || {
        app.send_with_key(
            Method::POST,
            "/v1/tasks/sort?page=1&per_page=100",
            json!({ "task_ids": reversed }),
            token,
            HeaderValue::from_static("sort-100"),
        )
    };
    let sorted = sort().await;
    assert_eq!(sorted.status(), 200);
    let json = sorted.bytes().await.unwrap();
    let stored = app
        .db()
        .integer(&format!(
            "SELECT stored_bytes FROM idempotency_keys WHERE user_id = {me} AND key = 'sort-100'"
        ))
        .await;
    assert!(
        stored * 3 < json.len() as i64,
        "{stored} bytes kept for {} bytes of JSON",
        json.len()
    );
    let total = app
        .db()
        .integer(&format!(
            "SELECT kept_answer_bytes FROM users WHERE id = {me}"
        ))
        .await;
    assert_eq!(total, stored, "the user's total is the row's size");

    let again = sort().await;
    assert_eq!(header(&again, "idempotent-replayed"), "true");
    assert_eq!(
        again.bytes().await.unwrap(),
        json,
        "the same answer, byte for byte"
    );
}

async fn an_answer_kept_before_answers_were_compressed_still_replays() {
    let app = spawn_app().await;
    let first = app.signed_in_user().await;
    let user = app.signed_in_user().await;
    let me = app.user_id(&user.token).await;
    // Another user's run of the same request lends its fingerprint (which names the request,
    // not the user); the row is then written in the old form: the answer's JSON in `body`.
    assert_eq!(
        app.create_with_key(&first.token, "pay rent", "lend")
            .await
            .status(),
        201
    );
    let kept = json!({
        "id": 987_654, "version": 1, "position": "V", "date": TASK_DATE,
        "task": "kept before compression", "status": "Incomplete",
        "created_at": "2026-11-30T09:00:00.250+00:00", "updated_at": "2026-11-30T09:00:00.250+00:00"
    });
    let now = chrono::Utc::now().timestamp_millis();
    app.db()
        .execute(&format!(
            "INSERT INTO idempotency_keys
                 (user_id, key, fingerprint, claim, claimed_at, status, body, location)
             SELECT {me}, 'old', fingerprint, 'an old run', {now}, 201, '{kept}', '/v1/tasks/987654'
             FROM idempotency_keys WHERE key = 'lend'"
        ))
        .await;

    let replayed = app.create_with_key(&user.token, "pay rent", "old").await;
    assert_eq!(replayed.status(), 201);
    assert_eq!(header(&replayed, "idempotent-replayed"), "true");
    assert_eq!(header(&replayed, "location"), "/v1/tasks/987654");
    assert_eq!(header(&replayed, "etag"), "\"1\"");
    assert_eq!(body(replayed).await, kept);
    assert!(app.list_all(&user.token).await.is_empty(), "nothing ran");
}

async fn a_key_that_is_not_visible_ascii_is_422_naming_the_header_and_nothing_is_created() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let token = user.token.as_str();
    let long = "k".repeat(256);
    let bad = [
        // Raw UTF-8 bytes in the header: once taken for no key at all, so a retry ran twice.
        HeaderValue::from_bytes("clé-1".as_bytes()).unwrap(),
        HeaderValue::from_str(&long).unwrap(),
        HeaderValue::from_static(""),
        HeaderValue::from_static("has space"),
    ];
    for key in bad {
        for _ in 0..2 {
            let task = json!({"date": TASK_DATE, "task": "once", "status": "Incomplete"});
            let resp = app
                .send_with_key(Method::POST, "/v1/tasks", task, token, key.clone())
                .await;
            let problem = assert_invalid_field(resp, "Idempotency-Key").await;
            let message = problem["errors"][0]["message"].as_str().unwrap();
            assert!(message.contains("visible ASCII"), "{key:?}: {message}");
        }
    }
    // Two keys on one request name no one request.
    let resp = app
        .http
        .post(format!("{}/v1/tasks", app.base))
        .bearer_auth(token)
        .header("idempotency-key", "k-1")
        .header("idempotency-key", "k-2")
        .json(&json!({"date": TASK_DATE, "task": "once", "status": "Incomplete"}))
        .send()
        .await
        .unwrap();
    assert_invalid_field(resp, "Idempotency-Key").await;
    assert!(app.list_all(token).await.is_empty(), "nothing was created");
    // The longest key taken.
    let longest = "k".repeat(255);
    assert_eq!(
        app.create_with_key(token, "once", &longest).await.status(),
        201
    );
}
