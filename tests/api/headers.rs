//! Headers every client relies on: nosniff everywhere, no-store on sign-in answers, CORS for
//! the listed browser origins only.

use crate::support::*;
use reqwest::Method;

stories!(sqlite, postgres => [
    every_response_says_nosniff_and_sign_in_answers_are_never_cached,
    a_listed_origin_gets_cors_on_answers_preflights_and_problems,
    other_origins_and_unconfigured_servers_send_no_cors_headers,
    api_answers_are_private_and_revalidated_and_sign_in_answers_never_kept,
    the_docs_page_sends_a_content_security_policy_and_refuses_frames,
    a_request_head_over_32_kib_is_431_and_one_under_it_is_served,
]);

const APP_ORIGIN: &str = "http://127.0.0.1:5173";

async fn every_response_says_nosniff_and_sign_in_answers_are_never_cached() {
    let app = spawn_app().await;
    for path in ["/healthz", "/v1/tasks", "/nowhere", "/openapi.json"] {
        let resp = app.send(Method::GET, path, None, None).await;
        assert_eq!(header(&resp, "x-content-type-options"), "nosniff", "{path}");
    }
    let user = app.signed_in_user().await;
    let (challenge, code) = app.login_and_read_code(&user.email, PASSWORD).await;
    let resp = app.verify(&challenge, &code).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "cache-control"), "no-store", "a token answer");
    let resp = app.login(&user.email, PASSWORD).await;
    assert_eq!(
        header(&resp, "cache-control"),
        "no-store",
        "a challenge answer"
    );
}

async fn a_listed_origin_gets_cors_on_answers_preflights_and_problems() {
    let app = spawn_app_with(|c| c.cors_origins = vec![APP_ORIGIN.into()]).await;
    let preflight = app
        .http
        .request(Method::OPTIONS, format!("{}/v1/tasks", app.base))
        .header("origin", APP_ORIGIN)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, idempotency-key",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(
        header(&preflight, "access-control-allow-origin"),
        APP_ORIGIN
    );
    let allowed = header(&preflight, "access-control-allow-headers");
    for name in [
        "authorization",
        "content-type",
        "idempotency-key",
        "if-match",
    ] {
        assert!(allowed.contains(name), "{name} in {allowed}");
    }
    assert!(header(&preflight, "access-control-allow-methods").contains("PATCH"));

    // A 401 must reach the page too, or it cannot tell the user to log in again.
    let refused = app
        .http
        .get(format!("{}/v1/tasks", app.base))
        .header("origin", APP_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(header(&refused, "access-control-allow-origin"), APP_ORIGIN);
    let exposed = header(&refused, "access-control-expose-headers");
    for name in ["etag", "location", "retry-after"] {
        assert!(exposed.contains(name), "{name} in {exposed}");
    }
    assert_problem(refused, 401, "session_missing").await;
}

async fn other_origins_and_unconfigured_servers_send_no_cors_headers() {
    let listed = spawn_app_with(|c| c.cors_origins = vec![APP_ORIGIN.into()]).await;
    let unconfigured = spawn_app().await;
    for (app, origin) in [
        (&listed, "http://evil.example"),
        (&unconfigured, APP_ORIGIN),
    ] {
        let preflight = app
            .http
            .request(Method::OPTIONS, format!("{}/v1/tasks", app.base))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
            .await
            .unwrap();
        assert!(
            !preflight
                .headers()
                .contains_key("access-control-allow-origin"),
            "{origin}"
        );
        // The request itself is still served (a same-origin page, curl): only browsers refuse.
        let resp = app
            .http
            .post(format!("{}/v1/auth/register", app.base))
            .header("origin", origin)
            .json(&serde_json::json!({"email": "cors@example.com", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert!(!resp.headers().contains_key("access-control-allow-origin"));
        assert!(resp.status().is_success(), "{}", resp.status());
    }
}

async fn api_answers_are_private_and_revalidated_and_sign_in_answers_never_kept() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let task = app.create_task(&user.token, "cache me not").await;
    let path = format!("/v1/tasks/{}", task["id"]);
    for (resp, what) in [
        (app.get(&path, &user.token).await, "a task"),
        (app.get("/v1/tasks", &user.token).await, "a page"),
        (app.get("/v1/nowhere", &user.token).await, "a problem"),
    ] {
        assert_eq!(
            header(&resp, "cache-control"),
            "private, no-cache",
            "{what}"
        );
    }
    let resp = app.get("/v1/auth/session", &user.token).await;
    assert_eq!(header(&resp, "cache-control"), "no-store");
    // Revalidation still answers 304.
    let tag = header(&app.get(&path, &user.token).await, "etag");
    let resp = app
        .http
        .get(format!("{}{path}", app.base))
        .bearer_auth(&user.token)
        .header("if-none-match", tag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);
    assert_eq!(header(&resp, "cache-control"), "private, no-cache");
}

async fn the_docs_page_sends_a_content_security_policy_and_refuses_frames() {
    let app = spawn_app().await;
    let resp = app.send(Method::GET, "/docs", None, None).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "x-frame-options"), "DENY");
    let policy = header(&resp, "content-security-policy");
    for part in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "connect-src 'self'",
    ] {
        assert!(policy.contains(part), "{part} in {policy}");
    }
    // Exactly the page's two inline scripts (Swagger UI's bundle and its start-up) are allowed.
    assert_eq!(policy.matches("'sha256-").count(), 2, "{policy}");
    assert!(!policy.contains("unsafe-eval"), "{policy}");
}

async fn a_request_head_over_32_kib_is_431_and_one_under_it_is_served() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let send_head = |padding: usize| {
        let addr = addr.clone();
        async move {
            let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let head = format!(
                "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: {}\r\nConnection: close\r\n\r\n",
                "a".repeat(padding)
            );
            // A server that refuses early may close before it has read everything.
            let _ = socket.write_all(head.as_bytes()).await;
            let mut answer = Vec::new();
            let _ = socket.read_to_end(&mut answer).await;
            String::from_utf8_lossy(&answer).into_owned()
        }
    };
    let small = send_head(24 * 1024).await;
    assert!(
        small.starts_with("HTTP/1.1 200"),
        "{}",
        &small[..small.len().min(200)]
    );
    let large = send_head(40 * 1024).await;
    assert!(
        large.starts_with("HTTP/1.1 431"),
        "{}",
        &large[..large.len().min(200)]
    );
}
