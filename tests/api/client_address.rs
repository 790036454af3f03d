//! Which client a sign-in failure is counted against: behind trusted proxies, the address the
//! outermost of them wrote, never one the client sent; an IPv6 client by its /64.

use crate::support::*;
use reqwest::Response;
use serde_json::json;

stories!(sqlite, postgres => [
    a_client_sending_its_own_forwarded_for_line_first_is_still_limited,
    with_two_trusted_hops_the_entry_the_outer_proxy_wrote_decides,
    ipv6_clients_count_per_64_and_mapped_ipv4_counts_as_ipv4,
]);

/// A login with a wrong password sent with these `X-Forwarded-For` field lines.
async fn wrong_password_via(app: &TestApp, lines: &[String]) -> Response {
    let mut req = app
        .http
        .post(format!("{}/v1/auth/login", app.base))
        .json(&json!({"email": "ada@example.com", "password": "not the password"}));
    for line in lines {
        req = req.header("x-forwarded-for", line);
    }
    req.send().await.unwrap()
}

async fn a_client_sending_its_own_forwarded_for_line_first_is_still_limited() {
    let app = spawn_app_with(|c| {
        c.limits.per_addr = 3;
        c.trust_proxy = 1;
    })
    .await;
    // The client's own line, changed every time, then the line its proxy appended.
    for n in 0..3 {
        let lines = [format!("10.9.0.{n}"), "203.0.113.7".to_owned()];
        assert_problem(
            wrong_password_via(&app, &lines).await,
            401,
            "invalid_credentials",
        )
        .await;
    }
    let lines = ["10.9.0.99".to_owned(), "203.0.113.7".to_owned()];
    assert_problem(wrong_password_via(&app, &lines).await, 429, "rate_limited").await;
}

async fn with_two_trusted_hops_the_entry_the_outer_proxy_wrote_decides() {
    let app = spawn_app_with(|c| {
        c.limits.per_addr = 2;
        c.trust_proxy = 2;
    })
    .await;
    // client-made, written by the outer proxy (the client), written by the inner proxy.
    for spoofed in ["10.1.1.1", "10.1.1.2"] {
        let lines = [format!("{spoofed}, 198.51.100.4"), "10.0.0.2".to_owned()];
        assert_problem(
            wrong_password_via(&app, &lines).await,
            401,
            "invalid_credentials",
        )
        .await;
    }
    let lines = ["10.1.1.3, 198.51.100.4".to_owned(), "10.0.0.2".to_owned()];
    assert_problem(wrong_password_via(&app, &lines).await, 429, "rate_limited").await;
}

async fn ipv6_clients_count_per_64_and_mapped_ipv4_counts_as_ipv4() {
    let app = spawn_app_with(|c| {
        c.limits.per_addr = 3;
        c.trust_proxy = 1;
    })
    .await;
    for host in 1..=3 {
        let lines = [format!("2001:db8:7:7::{host:x}")];
        assert_problem(
            wrong_password_via(&app, &lines).await,
            401,
            "invalid_credentials",
        )
        .await;
    }
    let lines = ["2001:db8:7:7:ffff::1".to_owned()];
    assert_problem(wrong_password_via(&app, &lines).await, 429, "rate_limited").await;
    // The next /64 has a budget of its own.
    let lines = ["2001:db8:7:8::1".to_owned()];
    assert_problem(
        wrong_password_via(&app, &lines).await,
        401,
        "invalid_credentials",
    )
    .await;

    for _ in 0..3 {
        let lines = ["198.51.100.9".to_owned()];
        assert_problem(
            wrong_password_via(&app, &lines).await,
            401,
            "invalid_credentials",
        )
        .await;
    }
    let lines = ["::ffff:198.51.100.9".to_owned()];
    assert_problem(wrong_password_via(&app, &lines).await, 429, "rate_limited").await;
}
