//! Sign-ins that last: a refresh token trades for a new pair and is spent; a spent one answers
//! the current pair while it is the parent or within its grace, and ends the whole sign-in
//! after; every way of ending a sign-in ends its refresh token; event streams follow the
//! sign-in, not the access token.

use crate::support::sse::Stream;
use crate::support::*;
use reqwest::{Method, Response};
use serde_json::{Value, json};
use std::time::Duration;

mod sealed;

stories!(sqlite, postgres => [
    verify_gives_a_refresh_token_and_a_refresh_rotates_the_pair,
    the_parent_answers_the_current_pair_at_any_time,
    an_older_spent_token_answers_within_the_grace_and_ends_the_sign_in_after,
    logout_scopes_and_ending_by_id_end_refresh_tokens,
    password_change_reset_and_deletion_end_refresh_tokens,
    no_refresh_tokens_when_refresh_ttl_is_0,
    only_unknown_refresh_tokens_count_against_the_client_address,
    the_session_list_shows_one_item_per_sign_in_with_last_used_at,
    a_stream_outlives_its_access_token_and_ends_with_its_sign_in,
    a_stream_ends_with_session_expired_when_its_sign_in_expires,
]);

/// Past the 10 s grace a spent refresh token has.
const PAST_GRACE: Duration = Duration::from_millis(10_600);

/// How long a stream event may take.
const WAIT: Duration = Duration::from_secs(10);

/// A 200 answer of verify or refresh: the access token and the refresh token.
async fn pair(resp: Response) -> (String, String, Value) {
    assert_eq!(resp.status(), 200, "expected a new pair");
    assert_eq!(header(&resp, "cache-control"), "no-store");
    let issued = body(resp).await;
    let access = issued["access_token"].as_str().unwrap().to_owned();
    let refresh = issued["refresh_token"].as_str().unwrap().to_owned();
    (access, refresh, issued)
}

/// The status and code `GET /v1/auth/session` answers for `token`.
async fn state(app: &TestApp, token: &str) -> (u16, String) {
    let resp = app.get("/v1/auth/session", token).await;
    let status = resp.status().as_u16();
    if status == 200 {
        return (status, String::new());
    }
    (
        status,
        body(resp).await["code"].as_str().unwrap().to_owned(),
    )
}

async fn assert_live(app: &TestApp, token: &str) {
    assert_eq!(state(app, token).await, (200, String::new()));
}

async fn assert_refresh_refused(app: &TestApp, refresh: &str, code: &str) {
    assert_problem(app.refresh(refresh).await, 401, code).await;
}

async fn verify_gives_a_refresh_token_and_a_refresh_rotates_the_pair() {
    let app = spawn_app().await;
    app.register("ada@example.com", PASSWORD).await;
    let (challenge, code) = app.login_and_read_code("ada@example.com", PASSWORD).await;
    let (a0, r0, issued) = pair(app.verify(&challenge, &code).await).await;
    assert_eq!(issued["token_type"], "Bearer");
    assert_eq!(issued["expires_in"], 30);
    assert_eq!(issued["refresh_expires_in"], 1_209_600);
    assert!(issued["refresh_expires_at"].is_string());
    assert_live(&app, &a0).await;

    let (a1, r1, again) = pair(app.refresh(&r0).await).await;
    assert!(a1 != a0 && r1 != r0);
    assert_eq!(again["expires_in"], 30);
    assert_eq!(again["refresh_expires_in"], 1_209_600);
    assert_live(&app, &a1).await;
    // A refresh replaces the access token: the one before is unknown from then on.
    assert_eq!(state(&app, &a0).await, (401, "session_invalid".into()));

    let (a2, r2, _) = pair(app.refresh(&r1).await).await;
    assert!(a2 != a1 && r2 != r1);
    assert_live(&app, &a2).await;
    let task = app.create_task(&a2, "after two refreshes").await;
    assert_eq!(task["task"], "after two refreshes");

    // Not a refresh token at all, or a forged one: refused the same way.
    assert_refresh_refused(&app, "not a token", "refresh_invalid").await;
    let mut forged = r2.clone().into_bytes();
    forged[74] = if forged[74] == b'A' { b'E' } else { b'A' };
    assert_refresh_refused(&app, &String::from_utf8(forged).unwrap(), "refresh_invalid").await;
    let resp = app
        .send(Method::POST, "/v1/auth/refresh", Some(json!({})), None)
        .await;
    assert_invalid_field(resp, "refresh_token").await;
    assert_live(&app, &a2).await;
}

async fn the_parent_answers_the_current_pair_at_any_time() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let r0 = user.refresh.unwrap();
    let (a1, r1, _) = pair(app.refresh(&r0).await).await;

    // The answer was lost: the spent token gives the same pair again, now and later.
    let (again_a, again_r, _) = pair(app.refresh(&r0).await).await;
    assert_eq!(
        (again_a.as_str(), again_r.as_str()),
        (a1.as_str(), r1.as_str())
    );
    tokio::time::sleep(PAST_GRACE).await;
    let (late_a, late_r, _) = pair(app.refresh(&r0).await).await;
    assert_eq!(
        (late_a.as_str(), late_r.as_str()),
        (a1.as_str(), r1.as_str())
    );
    assert_live(&app, &a1).await;

    // The current one still rotates.
    let (a2, _, _) = pair(app.refresh(&r1).await).await;
    assert_live(&app, &a2).await;
}

async fn an_older_spent_token_answers_within_the_grace_and_ends_the_sign_in_after() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let laptop = app.sign_in_again(&user.email).await;
    let r0 = user.refresh.unwrap();
    let (_, r1, _) = pair(app.refresh(&r0).await).await;
    let (a2, r2, _) = pair(app.refresh(&r1).await).await;

    // Two tabs: r0 was spent a moment ago, so it answers the current pair.
    let (tab_a, tab_r, _) = pair(app.refresh(&r0).await).await;
    assert_eq!((tab_a.as_str(), tab_r.as_str()), (a2.as_str(), r2.as_str()));
    let mut stream = app.follow(&a2, None).await;

    // Past the grace, r0 is taken as stolen: the whole sign-in ends.
    tokio::time::sleep(PAST_GRACE).await;
    assert_refresh_refused(&app, &r0, "refresh_reused").await;
    assert_eq!(state(&app, &a2).await, (401, "session_revoked".into()));
    assert_refresh_refused(&app, &r2, "refresh_invalid").await;
    assert_refresh_refused(&app, &r1, "refresh_invalid").await;
    assert_refresh_refused(&app, &r0, "refresh_invalid").await;
    let event = stream.next_event(WAIT).await;
    assert_eq!(event.event, "session_revoked");
    stream.assert_ends().await;

    // The user's other sign-in is not touched.
    assert_live(&app, &laptop.token).await;
    pair(app.refresh(laptop.refresh.as_deref().unwrap()).await).await;
}

async fn logout_scopes_and_ending_by_id_end_refresh_tokens() {
    let app = spawn_app_with(|c| c.session_ttl = Duration::from_secs(1)).await;
    let phone = app.signed_in_user().await;
    let email = phone.email.clone();
    let laptop = app.sign_in_again(&email).await;
    let tablet = app.sign_in_again(&email).await;
    let desk = app.sign_in_again(&email).await;

    // Every access token has expired; the sign-ins live on through their refresh tokens.
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    assert_eq!(
        state(&app, &phone.token).await,
        (401, "session_expired".into())
    );
    let (phone_a, phone_r, _) = pair(app.refresh(phone.refresh.as_deref().unwrap()).await).await;

    // scope=local ends this sign-in's refresh token too.
    let (desk_a, desk_r, _) = pair(app.refresh(desk.refresh.as_deref().unwrap()).await).await;
    app.logged_out(&desk_a).await;
    assert_refresh_refused(&app, &desk_r, "refresh_invalid").await;

    // Ending one by id from another device (its access token long expired).
    let resp = app.get("/v1/auth/sessions", &phone_a).await;
    let items = body(resp).await["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 3, "{items:?}");
    let tablet_id = items
        .iter()
        .filter(|s| s["current"] == false)
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .next_back()
        .unwrap();
    let path = format!("/v1/auth/sessions/{tablet_id}");
    let resp = app.send(Method::DELETE, &path, None, Some(&phone_a)).await;
    assert_eq!(resp.status(), 204);
    assert_refresh_refused(&app, tablet.refresh.as_deref().unwrap(), "refresh_invalid").await;

    // scope=others ends the laptop's; global then ends the phone's own.
    let resp = app
        .send(
            Method::POST,
            "/v1/auth/logout?scope=others",
            None,
            Some(&phone_a),
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert_refresh_refused(&app, laptop.refresh.as_deref().unwrap(), "refresh_invalid").await;
    let (phone_a, phone_r2, _) = pair(app.refresh(&phone_r).await).await;
    let resp = app
        .send(
            Method::POST,
            "/v1/auth/logout?scope=global",
            None,
            Some(&phone_a),
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert_refresh_refused(&app, &phone_r2, "refresh_invalid").await;
    assert_eq!(state(&app, &phone_a).await, (401, "session_revoked".into()));
}

async fn password_change_reset_and_deletion_end_refresh_tokens() {
    let app = spawn_app().await;
    let phone = app.signed_in_user().await;
    let email = phone.email.clone();
    let laptop = app.sign_in_again(&email).await;

    // A change ends every other sign-in; this one keeps refreshing.
    let new = "a brand new passphrase";
    let body = json!({"current_password": PASSWORD, "new_password": new});
    let resp = app
        .send(
            Method::POST,
            "/v1/auth/password",
            Some(body),
            Some(&phone.token),
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert_refresh_refused(&app, laptop.refresh.as_deref().unwrap(), "refresh_invalid").await;
    let (_, phone_r, _) = pair(app.refresh(phone.refresh.as_deref().unwrap()).await).await;

    // A reset ends every sign-in.
    let (challenge, code) = app.reset_code(&email).await;
    let resp = app.confirm_reset(&challenge, &code, PASSWORD).await;
    assert_eq!(resp.status(), 204);
    assert_refresh_refused(&app, &phone_r, "refresh_invalid").await;

    // Deleting the account ends (removes) its sign-ins.
    let again = app.sign_in_again(&email).await;
    let resp = app
        .send(
            Method::DELETE,
            "/v1/auth/account",
            Some(json!({ "password": PASSWORD })),
            Some(&again.token),
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert_refresh_refused(&app, again.refresh.as_deref().unwrap(), "refresh_invalid").await;
}

async fn no_refresh_tokens_when_refresh_ttl_is_0() {
    let app = spawn_app_with(|c| c.refresh_ttl = None).await;
    app.register("ada@example.com", PASSWORD).await;
    let (challenge, code) = app.login_and_read_code("ada@example.com", PASSWORD).await;
    let resp = app.verify(&challenge, &code).await;
    assert_eq!(resp.status(), 200);
    let issued = body(resp).await;
    let mut fields: Vec<&str> = issued
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["access_token", "expires_at", "expires_in", "token_type"]
    );

    // A refresh token from a server that issued them (same shape) is unknown here.
    let other = spawn_app().await;
    let user = other.signed_in_user().await;
    assert_refresh_refused(&app, user.refresh.as_deref().unwrap(), "refresh_invalid").await;
}

async fn only_unknown_refresh_tokens_count_against_the_client_address() {
    let app = spawn_app_with(|c| c.limits.per_addr = 2).await;
    let user = app.signed_in_user().await;
    let r0 = user.refresh.unwrap();
    // Ended tokens are not failures: any number of them leaves the address alone.
    app.logged_out(&user.token).await;
    for _ in 0..3 {
        assert_refresh_refused(&app, &r0, "refresh_invalid").await;
    }
    // Unknown ones are.
    let unknown = "A".repeat(75);
    for _ in 0..2 {
        assert_refresh_refused(&app, &unknown, "refresh_invalid").await;
    }
    let resp = app.refresh(&unknown).await;
    assert_problem(resp, 429, "rate_limited").await;
    let resp = app.login(&user.email, PASSWORD).await;
    assert_problem(resp, 429, "rate_limited").await;
}

async fn the_session_list_shows_one_item_per_sign_in_with_last_used_at() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let list = |token: String| {
        let app = &app;
        async move {
            let resp = app.get("/v1/auth/sessions", &token).await;
            assert_eq!(resp.status(), 200);
            body(resp).await["items"].as_array().unwrap().clone()
        }
    };
    let before = list(user.token.clone()).await;
    assert_eq!(before.len(), 1);
    assert_eq!(before[0]["last_used_at"], before[0]["issued_at"]);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let (a1, r1, _) = pair(app.refresh(user.refresh.as_deref().unwrap()).await).await;
    let (a2, _, _) = pair(app.refresh(&r1).await).await;
    let after = list(a2).await;
    assert_eq!(after.len(), 1, "one sign-in, however often refreshed");
    let item = &after[0];
    assert_eq!(
        (&item["id"], &item["issued_at"]),
        (&before[0]["id"], &before[0]["issued_at"])
    );
    assert_eq!(item["current"], true);
    assert!(item["last_used_at"].as_str() > before[0]["last_used_at"].as_str());
    assert!(item["expires_in"].as_i64().unwrap() > 1_209_000, "{item}");
    let _ = a1;
}

async fn a_stream_outlives_its_access_token_and_ends_with_its_sign_in() {
    let app = spawn_app_with(|c| c.session_ttl = Duration::from_secs(1)).await;
    let user = app.signed_in_user().await;
    let mut stream = app.follow(&user.token, None).await;

    // The access token the stream was opened with expires, and is replaced by a refresh.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert!(stream.quiet_for(Duration::from_millis(100)).await);
    let (a1, r1, _) = pair(app.refresh(user.refresh.as_deref().unwrap()).await).await;
    let id = app.create_task(&a1, "seen live").await["id"]
        .as_i64()
        .unwrap();
    let event = stream.next_event(WAIT).await;
    assert_eq!(
        (event.event.as_str(), event.json()["id"].as_i64()),
        ("upsert", Some(id))
    );

    // Ending the sign-in ends the stream.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let (a2, _, _) = pair(app.refresh(&r1).await).await;
    app.logged_out(&a2).await;
    let event = stream.next_event(WAIT).await;
    assert_eq!(event.event, "session_revoked");
    stream.assert_ends().await;
}

async fn a_stream_ends_with_session_expired_when_its_sign_in_expires() {
    let app = spawn_app_with(|c| {
        c.session_ttl = Duration::from_secs(1);
        c.refresh_ttl = Some(Duration::from_secs(3));
    })
    .await;
    let user = app.signed_in_user().await;
    let mut stream: Stream = app.follow(&user.token, None).await;
    let started = std::time::Instant::now();
    let event = stream.next_event(WAIT).await;
    assert_eq!(event.event, "session_expired");
    assert!(
        started.elapsed() >= Duration::from_millis(1_800),
        "not cut at the access token's expiry: {:?}",
        started.elapsed()
    );
    stream.assert_ends().await;
    assert_refresh_refused(&app, user.refresh.as_deref().unwrap(), "refresh_invalid").await;
}
