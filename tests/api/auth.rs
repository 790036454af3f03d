//! Sign-in: register, password + emailed code, sessions, logout — and every auth error code.

use crate::helpers::*;
use reqwest::Method;
use std::time::Duration;

#[tokio::test]
async fn full_sign_in_flow_reads_the_code_from_the_email() {
    let app = spawn_app().await;

    let resp = app.register("Ada@Example.com", PASSWORD).await;
    assert_eq!(resp.status(), 201);
    let account = body(resp).await;
    assert_eq!(account["email"], "ada@example.com");
    assert!(account["id"].as_i64().is_some());

    let (challenge, code) = app.login_and_read_code("ada@example.com", PASSWORD).await;
    let mail = app.smtp.latest_to("ada@example.com").await;
    assert!(
        mail.data.contains("Subject: Your listo sign-in code"),
        "{}",
        mail.data
    );
    assert!(mail.data.contains("valid for 5 minutes"));

    let resp = app.verify(&challenge, &code).await;
    assert_eq!(resp.status(), 200);
    let issued = body(resp).await;
    assert_eq!(issued["token_type"], "Bearer");
    assert_eq!(issued["expires_in"], 30);
    let token = issued["access_token"].as_str().unwrap();
    assert_eq!(token.len(), 43);

    let resp = app
        .send(Method::GET, "/v1/auth/session", None, Some(token))
        .await;
    assert_eq!(resp.status(), 200);
    let session = body(resp).await;
    assert_eq!(session["user"]["email"], "ada@example.com");
    assert_eq!(session["user"]["id"], account["id"]);
    assert_eq!(session["expires_at"], issued["expires_at"]);

    let resp = app
        .send(Method::POST, "/v1/auth/logout", None, Some(token))
        .await;
    assert_eq!(resp.status(), 204);

    let resp = app
        .send(Method::GET, "/v1/auth/session", None, Some(token))
        .await;
    let www = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_problem(resp, 401, "session_revoked").await;
    assert!(
        www.starts_with("Bearer ") && www.contains("error=\"invalid_token\""),
        "{www}"
    );
}

#[tokio::test]
async fn a_session_expires_after_the_configured_ttl() {
    let app = spawn_app_with(|c| c.session_ttl = Duration::from_millis(1000)).await;
    let user = app.signed_in_user().await;
    let resp = app
        .send(Method::GET, "/v1/auth/session", None, Some(&user.token))
        .await;
    assert_eq!(resp.status(), 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let resp = app
        .send(Method::GET, "/v1/auth/session", None, Some(&user.token))
        .await;
    let problem = assert_problem(resp, 401, "session_expired").await;
    assert_eq!(problem["detail"], "Your session expired; log in again.");
}
