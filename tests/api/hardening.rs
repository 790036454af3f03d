//! Abuse: nobody can lock an owner out, code guesses are capped per account, ids are never
//! reused.

use crate::support::*;
use reqwest::{Method, Response};
use serde_json::json;
use std::net::IpAddr;

stories!(sqlite, postgres => [
    the_owner_signs_in_from_a_clean_address_while_an_attacker_is_throttled,
    the_hourly_backstop_stops_failing_addresses_but_never_a_clean_one,
    a_new_login_ends_the_older_challenge,
    ten_wrong_codes_in_an_hour_close_login_for_the_account,
    the_code_budget_also_holds_inside_a_challenge,
    a_retried_delete_of_a_deleted_task_is_404_and_the_newer_task_lives,
]);

/// A client whose connections come from `addr` (any 127.0.0.0/8 address is this machine).
fn client_from(addr: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(addr.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn login_from(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> Response {
    client
        .post(format!("{}/v1/auth/login", app.base))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

/// A 429 `rate_limited` whose `Retry-After` is whole seconds within `max_secs`.
async fn assert_limited(resp: Response, max_secs: u64) {
    let secs: u64 = header(&resp, "retry-after").parse().expect("whole seconds");
    assert!((1..=max_secs).contains(&secs), "Retry-After: {secs}");
    assert_problem(resp, 429, "rate_limited").await;
}

async fn the_owner_signs_in_from_a_clean_address_while_an_attacker_is_throttled() {
    let app =
        spawn_app_with(|c| c.limits = listo::config::Config::from_lookup(|_| None).unwrap().limits)
            .await;
    assert_eq!(
        app.register("victim@example.com", PASSWORD).await.status(),
        201
    );
    let attacker = client_from("127.0.0.2");
    let owner = client_from("127.0.0.3");

    // The defaults: 5 failures a minute for one email from one address.
    for _ in 0..5 {
        let resp = login_from(&app, &attacker, "victim@example.com", "guess guess").await;
        assert_problem(resp, 401, "invalid_credentials").await;
    }
    let resp = login_from(&app, &attacker, "victim@example.com", "guess again").await;
    assert_limited(resp, 60).await;
    // The attacker is stopped even with the right password, from that address.
    assert_limited(
        login_from(&app, &attacker, "victim@example.com", PASSWORD).await,
        60,
    )
    .await;

    // The owner, from an address that has not failed, is not.
    let resp = login_from(&app, &owner, "victim@example.com", PASSWORD).await;
    assert_eq!(resp.status(), 202);
}

async fn the_hourly_backstop_stops_failing_addresses_but_never_a_clean_one() {
    let app = spawn_app_with(|c| c.limits.per_email_hourly = 3).await;
    assert_eq!(
        app.register("victim@example.com", PASSWORD).await.status(),
        201
    );
    for addr in ["127.0.0.2", "127.0.0.3", "127.0.0.4"] {
        let resp = login_from(&app, &client_from(addr), "victim@example.com", "nope nope").await;
        assert_problem(resp, 401, "invalid_credentials").await;
    }
    // Three failures for the email this hour: every address that failed is stopped...
    let failed = client_from("127.0.0.2");
    assert_limited(
        login_from(&app, &failed, "victim@example.com", PASSWORD).await,
        3600,
    )
    .await;
    // ...and one that never failed still gets in with the right password.
    let clean = client_from("127.0.0.5");
    assert_eq!(
        login_from(&app, &clean, "victim@example.com", PASSWORD)
            .await
            .status(),
        202
    );
}

async fn a_new_login_ends_the_older_challenge() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let (older, older_code) = app.login_and_read_code(&user.email, PASSWORD).await;
    let (newer, newer_code) = app.login_and_read_code(&user.email, PASSWORD).await;

    assert_problem(app.verify(&older, &older_code).await, 401, "code_expired").await;
    assert_eq!(app.verify(&newer, &newer_code).await.status(), 200);
}

async fn ten_wrong_codes_in_an_hour_close_login_for_the_account() {
    let app = spawn_app_with(|c| c.limits.codes_per_hour = 10).await;
    let user = app.signed_in_user().await;

    // Two challenges of five wrong codes each: the tenth burns the second one.
    for _ in 0..2 {
        let (challenge, code) = app.login_and_read_code(&user.email, PASSWORD).await;
        for attempt in 1..=5 {
            let resp = app.verify(&challenge, &other_code(&code)).await;
            let status = if attempt < 5 { 401 } else { 429 };
            assert_eq!(resp.status(), status, "attempt {attempt}");
        }
    }
    // The eleventh guess never gets a challenge: login for the account answers 429.
    let mails = app.smtp.messages().len();
    assert_limited(app.login(&user.email, PASSWORD).await, 3600).await;
    assert_eq!(app.smtp.messages().len(), mails, "no code was emailed");
    // Other accounts are untouched.
    let other = app.signed_in_user().await;
    assert_eq!(
        app.get("/v1/auth/session", &other.token).await.status(),
        200
    );
}

async fn the_code_budget_also_holds_inside_a_challenge() {
    let app = spawn_app_with(|c| c.limits.codes_per_hour = 3).await;
    let user = app.signed_in_user().await;
    let (challenge, code) = app.login_and_read_code(&user.email, PASSWORD).await;
    for _ in 0..3 {
        assert_problem(
            app.verify(&challenge, &other_code(&code)).await,
            401,
            "invalid_code",
        )
        .await;
    }
    // The fourth guess meets the account's budget, even with the right code.
    assert_problem(
        app.verify(&challenge, &code).await,
        429,
        "too_many_attempts",
    )
    .await;
}

async fn a_retried_delete_of_a_deleted_task_is_404_and_the_newer_task_lives() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let first = app.create_task(&user.token, "first").await["id"]
        .as_i64()
        .unwrap();
    let newest = app.create_task(&user.token, "newest").await["id"]
        .as_i64()
        .unwrap();
    let path = format!("/v1/tasks/{newest}");
    let resp = app
        .send(Method::DELETE, &path, None, Some(&user.token))
        .await;
    assert_eq!(resp.status(), 204);

    let newer = app.create_task(&user.token, "newer").await["id"]
        .as_i64()
        .unwrap();
    assert!(
        newer > newest,
        "ids are never reused: {newer} after {newest}"
    );

    let retried = app
        .send(Method::DELETE, &path, None, Some(&user.token))
        .await;
    assert_problem(retried, 404, "task_not_found").await;
    assert_eq!(app.list_all(&user.token).await, vec![first, newer]);

    // Not across users either.
    let other = app.signed_in_user().await;
    let theirs = app.create_task(&other.token, "theirs").await["id"]
        .as_i64()
        .unwrap();
    assert!(theirs > newer);
}
