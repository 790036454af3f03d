//! Failed sign-ins are limited per email and per client address (behind a trusted proxy, the
//! address it appended): past a budget, 429 `rate_limited` with `Retry-After`.

use crate::support::*;

stories!(sqlite, postgres => [
    failed_logins_for_one_email_from_one_address_are_limited_and_other_emails_are_not,
    a_taken_email_counts_against_the_address_that_registers_it,
    failures_from_one_address_limit_it_whatever_the_email,
    behind_a_trusted_proxy_the_address_it_appended_is_the_one_limited,
]);

/// Asserts a 429 `rate_limited` with `Retry-After` in whole seconds, at least 1.
async fn assert_rate_limited(resp: reqwest::Response) {
    let retry_after = header(&resp, "retry-after");
    let secs: u64 = retry_after
        .parse()
        .unwrap_or_else(|_| panic!("Retry-After is not whole seconds: {retry_after:?}"));
    assert!((1..=60).contains(&secs), "Retry-After: {secs}");
    assert_problem(resp, 429, "rate_limited").await;
}

async fn failed_logins_for_one_email_from_one_address_are_limited_and_other_emails_are_not() {
    let app = spawn_app_with(|c| c.limits.per_email_addr = 2).await;
    for who in ["ada@example.com", "bob@example.com"] {
        assert_eq!(app.register(who, PASSWORD).await.status(), 201);
    }
    // A right password spends nothing; two wrong ones spend ada's budget at this address.
    assert_eq!(app.login("ada@example.com", PASSWORD).await.status(), 202);
    for _ in 0..2 {
        let resp = app.login("ada@example.com", "wrong password").await;
        assert_problem(resp, 401, "invalid_credentials").await;
    }
    let mails = app.smtp.messages().len();
    // Now even the right password is refused here, before it is checked and before any email.
    assert_rate_limited(app.login("ada@example.com", PASSWORD).await).await;
    assert_rate_limited(app.login("Ada@Example.com", PASSWORD).await).await;
    assert_eq!(
        app.smtp.messages().len(),
        mails,
        "a limited login sent no email"
    );

    // The limit is per email: bob still signs in from the same address.
    assert_eq!(app.login("bob@example.com", PASSWORD).await.status(), 202);
}

async fn a_taken_email_counts_against_the_address_that_registers_it() {
    let app = spawn_app_with(|c| c.limits.per_addr = 2).await;

    assert_eq!(
        app.register("ada@example.com", PASSWORD).await.status(),
        201
    );
    for _ in 0..2 {
        let resp = app.register("ada@example.com", PASSWORD).await;
        assert_problem(resp, 409, "email_taken").await;
    }
    assert_rate_limited(app.register("new@example.com", PASSWORD).await).await;
    assert_rate_limited(app.login("ada@example.com", PASSWORD).await).await;
    assert_eq!(app.count_rows("users").await, 1);
}

async fn failures_from_one_address_limit_it_whatever_the_email() {
    let app = spawn_app_with(|c| c.limits.per_addr = 2).await;

    assert_eq!(
        app.register("two@example.com", PASSWORD).await.status(),
        201
    );
    assert_problem(
        app.login("one@example.com", PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_problem(
        app.login("two@example.com", "wrong password").await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_rate_limited(app.login("three@example.com", PASSWORD).await).await;
    assert_rate_limited(app.login("two@example.com", PASSWORD).await).await;
    assert_rate_limited(app.register("four@example.com", PASSWORD).await).await;
    assert_eq!(app.count_rows("users").await, 1);
}

async fn behind_a_trusted_proxy_the_address_it_appended_is_the_one_limited() {
    let app = spawn_app_with(|c| {
        c.limits.per_addr = 2;
        c.trust_proxy = 1;
    })
    .await;
    let login_via = |forwarded: String| {
        app.http
            .post(format!("{}/v1/auth/login", app.base))
            .header("x-forwarded-for", forwarded)
            .json(&serde_json::json!({"email": "ada@example.com", "password": PASSWORD}))
            .send()
    };
    // The client writes the first entries; the proxy appends the address it saw last.
    for spoofed in ["10.0.0.1", "10.0.0.2"] {
        let resp = login_via(format!("{spoofed}, 203.0.113.7")).await.unwrap();
        assert_problem(resp, 401, "invalid_credentials").await;
    }
    let resp = login_via("10.0.0.3, 203.0.113.7".into()).await.unwrap();
    assert_rate_limited(resp).await;
    // Another client behind the same proxy has its own budget.
    let resp = login_via("203.0.113.8".into()).await.unwrap();
    assert_problem(resp, 401, "invalid_credentials").await;
}
