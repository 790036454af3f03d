//! The client side of a TestApp: one method per endpoint, and signing a user in.

use crate::support::{TestApp, body, ids_of, sse::Stream};
use reqwest::header::HeaderValue;
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A password every test user gets unless the test says otherwise.
pub const PASSWORD: &str = "correct horse battery staple";

/// The date every helper-made task gets.
pub const TASK_DATE: &str = "2026-03-01";

/// A user who went through register → login → emailed code → verify.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// Their email.
    pub email: String,
    /// Their bearer token.
    pub token: String,
    /// The refresh token verify gave with it (none when the server issues none).
    pub refresh: Option<String>,
}

impl TestApp {
    /// Sends `method path` with an optional JSON body and bearer token.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> Response {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req.json(&body);
        }
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.expect("request sent")
    }

    /// `GET path` as a signed-in client.
    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.send(Method::GET, path, None, Some(token)).await
    }

    /// `POST /v1/auth/register`.
    pub async fn register(&self, email: &str, password: &str) -> Response {
        self.send(
            Method::POST,
            "/v1/auth/register",
            Some(json!({"email": email, "password": password})),
            None,
        )
        .await
    }

    /// `POST /v1/auth/login`.
    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.send(
            Method::POST,
            "/v1/auth/login",
            Some(json!({"email": email, "password": password})),
            None,
        )
        .await
    }

    /// `POST /v1/auth/verify`.
    pub async fn verify(&self, challenge_id: &str, code: &str) -> Response {
        self.send(
            Method::POST,
            "/v1/auth/verify",
            Some(json!({"challenge_id": challenge_id, "code": code})),
            None,
        )
        .await
    }

    /// `POST /v1/auth/verify`, asserting 200; returns the access token.
    pub async fn verified_token(&self, challenge_id: &str, code: &str) -> String {
        let resp = self.verify(challenge_id, code).await;
        assert_eq!(resp.status(), StatusCode::OK, "verify failed");
        body(resp).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Logs in and returns the challenge id and the code read out of the email that arrived.
    pub async fn login_and_read_code(&self, email: &str, password: &str) -> (String, String) {
        let before = self.smtp.messages().len();
        let resp = self.login(email, password).await;
        assert_eq!(resp.status(), StatusCode::ACCEPTED, "login failed");
        let challenge = body(resp).await["challenge_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let mail = self.smtp.latest_to(email).await;
        assert!(
            self.smtp.messages().len() > before,
            "login sent a new email"
        );
        (challenge, mail.code())
    }

    /// Registers `email` and signs in through the emailed code.
    pub async fn sign_in_as(&self, email: &str) -> SignedIn {
        let resp = self.register(email, PASSWORD).await;
        assert_eq!(resp.status(), StatusCode::CREATED, "register failed");
        self.sign_in_again(email).await
    }

    /// Logs `email` (already registered, password [`PASSWORD`]) in once more: another sign-in.
    pub async fn sign_in_again(&self, email: &str) -> SignedIn {
        let (challenge, code) = self.login_and_read_code(email, PASSWORD).await;
        let resp = self.verify(&challenge, &code).await;
        assert_eq!(resp.status(), StatusCode::OK, "verify failed");
        let issued = body(resp).await;
        SignedIn {
            email: email.to_owned(),
            token: issued["access_token"].as_str().unwrap().to_owned(),
            refresh: issued["refresh_token"].as_str().map(str::to_owned),
        }
    }

    /// `POST /v1/auth/refresh` with this refresh token.
    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.send(
            Method::POST,
            "/v1/auth/refresh",
            Some(json!({ "refresh_token": refresh_token })),
            None,
        )
        .await
    }

    /// A fresh user with a unique email, signed in.
    pub async fn signed_in_user(&self) -> SignedIn {
        static NEXT_USER: AtomicU64 = AtomicU64::new(1);
        let n = NEXT_USER.fetch_add(1, Ordering::Relaxed);
        self.sign_in_as(&format!("user{n}@example.com")).await
    }

    /// Sends `method path` with a raw body and the given `Content-Type` (none when `None`),
    /// for requests `send` cannot make: broken JSON, wrong media types, oversized bodies.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .body(body);
        if let Some(content_type) = content_type {
            req = req.header("content-type", content_type);
        }
        req.send().await.expect("request sent")
    }
}

// ---------------------------------------------------------------- tasks

impl TestApp {
    /// `POST /v1/tasks` with `text`, asserting 201; returns the task.
    pub async fn create_task(&self, token: &str, text: &str) -> Value {
        let resp = self
            .send(
                Method::POST,
                "/v1/tasks",
                Some(json!({"date": TASK_DATE, "task": text, "status": "Incomplete"})),
                Some(token),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED, "create {text:?}");
        body(resp).await
    }

    /// `POST /v1/tasks` with `body` as it is (valid or not).
    pub async fn post_task(&self, token: &str, body: Value) -> Response {
        self.send(Method::POST, "/v1/tasks", Some(body), Some(token))
            .await
    }

    /// `PATCH /v1/tasks/{id}` with `changes`.
    pub async fn patch_task(&self, token: &str, id: i64, changes: Value) -> Response {
        let path = format!("/v1/tasks/{id}");
        self.send(Method::PATCH, &path, Some(changes), Some(token))
            .await
    }

    /// `GET /v1/tasks/{id}`, asserting 200: the task as the API shows it.
    pub async fn task(&self, token: &str, id: i64) -> Value {
        let resp = self
            .send(Method::GET, &format!("/v1/tasks/{id}"), None, Some(token))
            .await;
        assert_eq!(resp.status(), 200, "GET task {id}");
        body(resp).await
    }

    /// Creates `task 1` … `task n` one after the other; returns their ids in creation order.
    pub async fn create_tasks(&self, token: &str, n: usize) -> Vec<i64> {
        let mut ids = Vec::with_capacity(n);
        for i in 1..=n {
            let task = self.create_task(token, &format!("task {i}")).await;
            ids.push(task["id"].as_i64().unwrap());
        }
        ids
    }

    /// `GET /v1/tasks?page=&per_page=`, asserting 200; returns the page envelope.
    pub async fn list(&self, token: &str, page: u32, per_page: u32) -> Value {
        let path = format!("/v1/tasks?page={page}&per_page={per_page}");
        let resp = self.send(Method::GET, &path, None, Some(token)).await;
        assert_eq!(resp.status(), StatusCode::OK, "GET {path}");
        body(resp).await
    }

    /// The ids GET shows on one page, in order.
    pub async fn list_page(&self, token: &str, page: u32, per_page: u32) -> Vec<i64> {
        ids_of(&self.list(token, page, per_page).await)
    }

    /// The user's whole order as GET shows it, read 100 at a time.
    pub async fn list_all(&self, token: &str) -> Vec<i64> {
        let mut all = Vec::new();
        for page in 1.. {
            let ids = self.list_page(token, page, 100).await;
            if ids.is_empty() {
                return all;
            }
            all.extend(ids);
        }
        unreachable!()
    }

    /// `POST /v1/tasks/sort?page=&per_page=` with these ids.
    pub async fn sort_page(&self, token: &str, page: u32, per_page: u32, ids: &[i64]) -> Response {
        self.send(
            Method::POST,
            &format!("/v1/tasks/sort?page={page}&per_page={per_page}"),
            Some(json!({ "task_ids": ids })),
            Some(token),
        )
        .await
    }

    /// `POST /v1/tasks/{id}/move` with `target` as the body.
    pub async fn move_task(&self, token: &str, id: i64, target: Value) -> Response {
        self.send(
            Method::POST,
            &format!("/v1/tasks/{id}/move"),
            Some(target),
            Some(token),
        )
        .await
    }
}

// ---------------------------------------------------------------- account, feeds, keyed writes

impl TestApp {
    /// `GET /v1/tasks/changes` with this query (`since=..&limit=..`, or empty).
    pub async fn changes(&self, token: &str, query: &str) -> Response {
        self.get(&format!("/v1/tasks/changes?{query}"), token).await
    }

    /// `GET /v1/tasks/changes`, asserting 200; returns the page.
    pub async fn changes_page(&self, token: &str, query: &str) -> Value {
        let resp = self.changes(token, query).await;
        assert_eq!(resp.status(), 200, "GET changes?{query}");
        body(resp).await
    }

    /// `GET /v1/tasks/events` with these extra headers and query; the raw answer.
    pub async fn events_request(
        &self,
        token: &str,
        query: &str,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut req = self
            .http
            .get(format!("{}/v1/tasks/events?{query}", self.base))
            .bearer_auth(token)
            .header("accept", "text/event-stream");
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.send().await.expect("request sent")
    }

    /// Opens the stream (from now, or after `last_event_id`).
    pub async fn follow(&self, token: &str, last_event_id: Option<&str>) -> Stream {
        let headers: Vec<(&str, &str)> = last_event_id
            .map(|id| vec![("last-event-id", id)])
            .unwrap_or_default();
        Stream::new(self.events_request(token, "", &headers).await)
    }

    /// `DELETE /v1/tasks/{id}`; the raw answer.
    pub async fn delete_task(&self, token: &str, id: i64) -> Response {
        self.send(
            Method::DELETE,
            &format!("/v1/tasks/{id}"),
            None,
            Some(token),
        )
        .await
    }

    /// `POST /v1/auth/logout` (this session), asserting 204.
    pub async fn logged_out(&self, token: &str) {
        let resp = self
            .send(Method::POST, "/v1/auth/logout", None, Some(token))
            .await;
        assert_eq!(resp.status(), 204, "POST /v1/auth/logout");
    }

    /// `POST /v1/tasks/events/ticket`, with the bearer token if any; the raw answer.
    pub async fn events_ticket(&self, token: Option<&str>) -> Response {
        self.send(Method::POST, "/v1/tasks/events/ticket", None, token)
            .await
    }

    /// A fresh event ticket of the token's sign-in (asserting 201).
    pub async fn mint_ticket(&self, token: &str) -> String {
        let resp = self.events_ticket(Some(token)).await;
        assert_eq!(resp.status(), 201, "POST /v1/tasks/events/ticket");
        body(resp).await["ticket"].as_str().unwrap().to_owned()
    }

    /// `GET /v1/tasks/events?ticket=..&<query>` as a browser's EventSource sends it: no
    /// `Authorization`; the raw answer.
    pub async fn events_by_ticket(&self, ticket: &str, query: &str) -> Response {
        let mut url =
            reqwest::Url::parse(&format!("{}/v1/tasks/events", self.base)).expect("a URL");
        url.set_query((!query.is_empty()).then_some(query));
        url.query_pairs_mut().append_pair("ticket", ticket);
        self.http
            .get(url)
            .header("accept", "text/event-stream")
            .send()
            .await
            .expect("request sent")
    }

    /// `method path` with a JSON body, the token, and `key` as the raw `Idempotency-Key`.
    pub async fn send_with_key(
        &self,
        method: Method,
        path: &str,
        body: Value,
        token: &str,
        key: HeaderValue,
    ) -> Response {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(&body)
            .send()
            .await
            .expect("request sent")
    }

    /// `POST /v1/auth/password-reset`.
    pub async fn request_reset(&self, email: &str) -> Response {
        let body = json!({ "email": email });
        self.send(Method::POST, "/v1/auth/password-reset", Some(body), None)
            .await
    }

    /// `POST /v1/auth/password-reset/confirm`.
    pub async fn confirm_reset(&self, challenge: &str, code: &str, new: &str) -> Response {
        let body = json!({"challenge_id": challenge, "code": code, "new_password": new});
        self.send(
            Method::POST,
            "/v1/auth/password-reset/confirm",
            Some(body),
            None,
        )
        .await
    }

    /// Asks for a reset of `email` and reads the code out of the email it sent.
    pub async fn reset_code(&self, email: &str) -> (String, String) {
        let before = self.smtp.messages().len();
        let resp = self.request_reset(email).await;
        assert_eq!(resp.status(), 202);
        let challenge = body(resp).await["challenge_id"]
            .as_str()
            .unwrap()
            .to_owned();
        // The email follows the answer: wait for this one, not an earlier one.
        let mail = self
            .smtp
            .arriving_to(email, before, Duration::from_secs(5))
            .await;
        (challenge, mail.code())
    }
}
