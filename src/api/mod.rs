//! HTTP: poem-openapi operations, the Bearer guard and the mapping of every error to a problem.

mod auth;
mod client;
mod json;
pub mod problem;
mod security;
mod system;
mod tasks;

use crate::service::{Auth, ServiceError, Tasks};
use crate::store::Store;
use client::TrustProxy;
use poem::http::StatusCode;
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route};
use poem_openapi::error::{AuthorizationError, ContentTypeError, ParseParamError, ParsePathError};
use poem_openapi::{OpenApiService, Tags};
use problem::ApiError;
use std::time::Instant;

/// Groups of operations in the document.
#[derive(Tags)]
enum ApiTags {
    /// Register, sign in with an emailed code, sessions.
    Auth,
    /// Your tasks and their order.
    Tasks,
    /// Probes.
    System,
}

type Apis = (auth::AuthApi, tasks::TaskApi, system::SystemApi);

fn service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (auth::AuthApi, tasks::TaskApi, system::SystemApi),
        "listo",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "A task-list API. Register, log in with your password, verify the 6-digit code emailed to you, \
         then send `Authorization: Bearer <access_token>`. Every error is application/problem+json \
         with a stable `code`.",
    )
}

/// The OpenAPI document the code produces (what `openapi.json` must hold).
pub fn spec() -> String {
    service().spec()
}

/// Everything the HTTP layer needs from the rest of the app.
pub struct Deps {
    /// Sign-in service.
    pub auth: Auth,
    /// Task service.
    pub tasks: Tasks,
    /// For the readiness probe.
    pub store: Store,
    /// Believe `X-Forwarded-For`.
    pub trust_proxy: bool,
}

/// The whole HTTP application: API, `/docs`, `/openapi.json`, request logging, problem mapping.
pub fn routes(deps: Deps) -> impl Endpoint<Output = Response> {
    let api = service();
    let docs = api.swagger_ui();
    let spec = api.spec_endpoint();
    Route::new()
        .at("/openapi.json", spec)
        .nest("/docs", docs)
        .nest("/", api)
        .data(deps.auth)
        .data(deps.tasks)
        .data(deps.store)
        .data(TrustProxy(deps.trust_proxy))
        .around(handle)
}

/// Turns errors raised before an operation ran (parsing, routing, auth header) into problems.
/// `had_credentials`: the request carried an `Authorization` header (so a refused one is
/// `session_invalid`, not `session_missing`).
fn problem_from(err: poem::Error, had_credentials: bool) -> ApiError {
    if let Some(api) = err.downcast_ref::<ApiError>() {
        return api.clone();
    }
    if let Some(e) = err.downcast_ref::<ParseParamError>() {
        return ApiError::field(e.name, param_message(&e.reason));
    }
    if let Some(e) = err.downcast_ref::<ParsePathError>() {
        // poem-openapi renames path parameters internally (`param0`); listo's only one is `{id}`.
        return ApiError::field("id", param_message(&e.reason));
    }
    if err.is::<AuthorizationError>() {
        return if had_credentials {
            ServiceError::SessionInvalid.into()
        } else {
            ApiError::session_missing()
        };
    }
    if err.is::<ContentTypeError>() {
        return ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported media type",
            "Send the body as JSON with `Content-Type: application/json`.",
        );
    }
    match err.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "Payload too large",
            format!("The body is over {} KiB.", json::MAX_BODY_BYTES / 1024),
        ),
        StatusCode::NOT_FOUND => ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Not found",
            "No such endpoint; see /docs for the API.",
        ),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "Method not allowed",
            "This endpoint does not take that method; see /docs.",
        ),
        status if status.is_client_error() => ApiError::new(
            status,
            "bad_request",
            status.canonical_reason().unwrap_or("Bad request"),
            err.to_string(),
        ),
        _ => ApiError::internal(&err),
    }
}

fn param_message(reason: &str) -> String {
    if reason.contains("integer") {
        "must be a whole number".into()
    } else {
        reason.to_owned()
    }
}

/// Every request passes here: errors that never reached an operation become problems, and one
/// log line records method, path, status, latency and request id (echoed as `X-Request-Id`).
/// The query string is left out of the log: only the path is recorded.
async fn handle<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let request_id = format!("{:016x}", rand::random::<u64>());
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let had_credentials = req
        .headers()
        .contains_key(poem::http::header::AUTHORIZATION);
    let span = tracing::info_span!("request", id = %request_id);
    let started = Instant::now();
    let mut resp = match tracing::Instrument::instrument(next.call(req), span.clone()).await {
        Ok(resp) => resp.into_response(),
        Err(err) => span
            .in_scope(|| problem_from(err, had_credentials))
            .into_response(),
    };
    let status = resp.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| tracing::info!(%method, %path, status, latency_ms, "request"));
    if let Ok(value) = request_id.parse() {
        resp.headers_mut().insert("x-request-id", value);
    }
    Ok(resp)
}
