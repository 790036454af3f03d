//! Quotas on what one user holds: tasks, live sign-ins, open event streams. Past a quota a
//! user's requests are refused or their oldest sign-in or stream ends; other users never notice.

use crate::support::*;
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

stories!(sqlite, postgres => [
    a_create_past_the_task_quota_is_409_quota_exceeded_and_writes_nothing,
    a_sign_in_past_the_session_quota_ends_the_oldest_and_its_stream,
    a_stream_past_the_per_user_cap_ends_that_users_oldest_with_stream_replaced,
    ending_a_session_by_id_reset_or_deleting_the_account_closes_its_streams_at_once,
]);

const WAIT: Duration = Duration::from_secs(10);

impl TestApp {
    /// Signs `email` in once more (another device); returns the new token.
    pub async fn another_session(&self, email: &str) -> String {
        let (challenge, code) = self.login_and_read_code(email, PASSWORD).await;
        self.verified_token(&challenge, &code).await
    }
}

/// The stream says `session_revoked` and ends within 3 s: well within the 15 s a stream waits
/// between its own checks of its session.
async fn assert_closed_at_once(stream: &mut crate::support::sse::Stream) {
    let event = stream.next_event(Duration::from_secs(3)).await;
    assert_eq!(event.event, "session_revoked");
    stream.assert_ends().await;
}

async fn a_create_past_the_task_quota_is_409_quota_exceeded_and_writes_nothing() {
    let app = spawn_app_with(|c| c.quotas.tasks = Some(3)).await;
    let user = app.signed_in_user().await;
    let ids = app.create_tasks(&user.token, 3).await;
    let refused = app
        .send(
            Method::POST,
            "/v1/tasks",
            Some(json!({"date": TASK_DATE, "task": "one too many", "status": "Incomplete"})),
            Some(&user.token),
        )
        .await;
    let problem = assert_problem(refused, 409, "quota_exceeded").await;
    assert_eq!(
        (problem["limit"].as_u64(), problem["used"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(app.list(&user.token, 1, 20).await["total_items"], 3);

    // Another user has a quota of their own; deleting frees a place.
    let other = app.signed_in_user().await;
    app.create_task(&other.token, "mine").await;
    let deleted = app.delete_task(&user.token, ids[0]).await;
    assert_eq!(deleted.status(), 204);
    app.create_task(&user.token, "fits again").await;
}

async fn a_sign_in_past_the_session_quota_ends_the_oldest_and_its_stream() {
    let app = spawn_app_with(|c| c.quotas.sessions = Some(2)).await;
    let user = app.signed_in_user().await;
    let mut oldest_stream = app.follow(&user.token, None).await;
    let second = app.another_session(&user.email).await;
    // Within the quota nothing ends.
    assert_eq!(app.get("/v1/auth/session", &user.token).await.status(), 200);
    let third = app.another_session(&user.email).await;

    let refused = app.get("/v1/auth/session", &user.token).await;
    assert_problem(refused, 401, "session_revoked").await;
    let event = oldest_stream.next_event(WAIT).await;
    assert_eq!(event.event, "session_revoked");
    oldest_stream.assert_ends().await;
    for token in [&second, &third] {
        assert_eq!(app.get("/v1/auth/session", token).await.status(), 200);
    }
    let listed = body(app.get("/v1/auth/sessions", &third).await).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2, "{listed}");
}

async fn a_stream_past_the_per_user_cap_ends_that_users_oldest_with_stream_replaced() {
    let app = spawn_app_with(|c| c.quotas.streams = Some(2)).await;
    let user = app.signed_in_user().await;
    let other = app.signed_in_user().await;
    let mut others = app.follow(&other.token, None).await;
    let mut first = app.follow(&user.token, None).await;
    let mut second = app.follow(&user.token, None).await;
    let mut third = app.follow(&user.token, None).await;

    let event = first.next_event(WAIT).await;
    assert_eq!(event.event, "stream_replaced");
    assert_eq!(event.id, None, "a reconnect would not go on from it");
    assert_eq!(event.json()["code"], "stream_replaced");
    first.assert_ends().await;

    // The newer two and the other user's stream still hear changes.
    let id = app.create_task(&user.token, "heard").await["id"]
        .as_i64()
        .unwrap();
    for stream in [&mut second, &mut third] {
        let event = stream.next_event(WAIT).await;
        assert_eq!(
            (event.event.as_str(), event.json()["id"].as_i64()),
            ("upsert", Some(id))
        );
    }
    let theirs = app.create_task(&other.token, "theirs").await["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        others.next_event(WAIT).await.json()["id"].as_i64(),
        Some(theirs)
    );
}

async fn ending_a_session_by_id_reset_or_deleting_the_account_closes_its_streams_at_once() {
    let app = spawn_app().await;
    // Ending a session by id, from another device.
    let user = app.signed_in_user().await;
    let laptop = app.another_session(&user.email).await;
    let mut stream = app.follow(&user.token, None).await;
    let sessions = body(app.get("/v1/auth/sessions", &laptop).await).await;
    let phone = sessions["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .expect("the other session")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ended = app
        .send(
            Method::DELETE,
            &format!("/v1/auth/sessions/{phone}"),
            None,
            Some(&laptop),
        )
        .await;
    assert_eq!(ended.status(), 204);
    assert_closed_at_once(&mut stream).await;

    // A password reset.
    let user = app.signed_in_user().await;
    let mut stream = app.follow(&user.token, None).await;
    let (challenge, code) = app.reset_code(&user.email).await;
    let confirmed = app
        .confirm_reset(&challenge, &code, "a brand new password")
        .await;
    assert_eq!(confirmed.status(), 204);
    assert_closed_at_once(&mut stream).await;

    // Deleting the account.
    let user = app.signed_in_user().await;
    let mut stream = app.follow(&user.token, None).await;
    let deleted = app
        .send(
            Method::DELETE,
            "/v1/auth/account",
            Some(json!({"password": PASSWORD})),
            Some(&user.token),
        )
        .await;
    assert_eq!(deleted.status(), 204);
    assert_closed_at_once(&mut stream).await;
}
