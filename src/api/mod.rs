//! HTTP: poem-openapi operations, the Bearer guard and the mapping of every error to a problem.

mod account;
mod answer;
mod auth;
mod client;
mod cors;
mod date;
mod document;
mod email;
mod etag;
mod feed;
mod headers;
mod idempotency;
mod json;
pub(crate) mod lists;
pub mod problem;
mod security;
mod standby;
mod swagger;
mod system;
pub(crate) mod tasks;
mod text;
pub use standby::{Gate, GateEndpoint};
mod tickets;

use crate::service::{Auth, Feed, Health, Lists, Tasks};
use client::TrustProxy;
use poem::endpoint::make_sync;
use poem::http::{HeaderValue, StatusCode, header};
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route};
use poem_openapi::{LicenseObject, OpenApiService, ServerObject, Tags};
use std::time::Instant;

/// Groups of operations in the document.
#[derive(Tags)]
enum ApiTags {
    /// Register, sign in with an emailed code, log out.
    Auth,
    /// Your password, your sessions, your account.
    Account,
    /// Your tasks and their order.
    Tasks,
    /// Your lists, their tasks, and the feed of everything you see.
    Lists,
    /// Probes.
    System,
}

type Apis = (
    auth::AuthApi,
    account::AccountApi,
    tasks::TaskApi,
    lists::ListApi,
    tasks::in_list::ListTaskApi,
    feed::tasks::ChangesApi,
    feed::everything::FeedApi,
    tickets::TicketsApi,
    system::SystemApi,
);

fn service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            auth::AuthApi,
            account::AccountApi,
            tasks::TaskApi,
            lists::ListApi,
            tasks::in_list::ListTaskApi,
            feed::tasks::ChangesApi,
            feed::everything::FeedApi,
            tickets::TicketsApi,
            system::SystemApi,
        ),
        "listo",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "A task-list API. Register, log in with your password, verify the 6-digit code emailed to you, \
         then send `Authorization: Bearer <access_token>` (Authorize, on this page). Every error is \
         application/problem+json with a stable `code`.\n\n\
         Where codes go: with no SMTP server set (`LISTO_SMTP_URL` unset), nothing is emailed; each \
         code is an .eml file in the outbox folder, `LISTO_OUTBOX` (`./outbox` by default, \
         `/data/outbox` in the Docker image).\n\n\
         How long a session lasts: an access token lives `LISTO_SESSION_TTL` seconds from verify, 30 \
         by default; using it does not extend it. When it ends, calls answer 401 `session_expired`: \
         trade the `refresh_token` at `POST /v1/auth/refresh` for a new pair and Authorize again. \
         The sign-in lasts while it is refreshed (`LISTO_REFRESH_TTL`, 14 days by default, from each \
         refresh).",
    )
    .license(LicenseObject::new("MIT").url("https://spdx.org/licenses/MIT.html"))
    .server(ServerObject::new("/").description("The server this document was read from"))
    .server(ServerObject::new("http://localhost:8080").description("listo run locally with the defaults"))
}

/// The OpenAPI document the code produces (what `openapi.json` must hold).
pub fn spec() -> String {
    document::finish(&service().spec())
}

/// Everything the HTTP layer needs from the rest of the app.
pub struct Deps {
    /// Sign-in service.
    pub auth: Auth,
    /// Task service.
    pub tasks: Tasks,
    /// List service.
    pub lists: Lists,
    /// Change feed.
    pub feed: Feed,
    /// The readiness probe's check.
    pub health: Health,
    /// Proxy hops whose `X-Forwarded-For` entries are believed.
    pub trust_proxy: u8,
    /// Browser origins allowed to call the API (CORS); empty = none.
    pub cors_origins: Vec<String>,
}

/// The whole HTTP application: API, `/docs`, `/openapi.json`, request logging, problem mapping.
pub fn routes(deps: Deps) -> impl Endpoint<Output = Response> {
    let api = service();
    let generated = api.spec();
    let document = document::finish(&generated);
    let page = swagger::SwaggerPage::new(&api.swagger_ui_html(), &generated, &document);
    let methods = std::sync::Arc::new(document::Methods::of(&document));
    Route::new()
        .at(
            "/openapi.json",
            make_sync(move |_| {
                Response::builder()
                    .content_type("application/json; charset=utf-8")
                    .body(document.clone())
            }),
        )
        .at("/docs", make_sync(move |_| page.clone()))
        .nest("/", api)
        .data(deps.auth)
        .data(deps.tasks)
        .data(deps.lists)
        .data(deps.feed)
        .data(deps.health)
        .data(TrustProxy(deps.trust_proxy))
        .around(problems)
        // Boxed between layers: each layer's future otherwise holds the whole chain's by value
        // (17 KB at the outermost), and poem moves it whole at every layer: 34k of the 89k
        // instructions of GET /healthz were those copies (bench/instructions.sh).
        .boxed()
        .with(cors::Cors::new(deps.cors_origins))
        .boxed()
        .around(move |next, req| handle(next, req, methods.clone()))
}

/// Errors that never reached an operation (routing, parsing, the auth header) become problems.
async fn problems<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let had_credentials = req.headers().contains_key(header::AUTHORIZATION);
    Ok(match next.call(req).await {
        Ok(resp) => resp.into_response(),
        Err(err) => problem::from_poem(err, had_credentials).into_response(),
    })
}

/// Every request passes here: one log line records method, path, status, latency and request id (echoed as `X-Request-Id`).
/// The query string is left out of the log: only the path is recorded.
async fn handle<E: Endpoint>(
    next: E,
    req: Request,
    methods: std::sync::Arc<document::Methods>,
) -> poem::Result<Response> {
    let request_id = format!("{:016x}", rand::random::<u64>());
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let span = tracing::info_span!("request", id = %request_id);
    let started = Instant::now();
    let mut resp = match tracing::Instrument::instrument(next.call(req), span.clone()).await {
        Ok(resp) => resp.into_response(),
        Err(err) => span
            .in_scope(|| problem::from_poem(err, false))
            .into_response(),
    };
    let method_not_allowed = resp.status() == StatusCode::METHOD_NOT_ALLOWED;
    let headers = resp.headers_mut();
    // The `Allow` the code table promises on `method_not_allowed`: routing knows the path.
    if let Some(allow) = method_not_allowed
        .then(|| methods.allowed(&path))
        .flatten()
        .and_then(|m| HeaderValue::from_str(m).ok())
    {
        headers.insert(header::ALLOW, allow);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Sign-in answers carry tokens and challenge ids, ticket answers tickets: no cache may keep
    // them. Every other answer is one user's and changes: a shared cache keeps none, a browser
    // asks again each time (revalidating with `If-None-Match` still answers 304).
    if path.starts_with("/v1/auth/") || path == tickets::TICKET_PATH {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    } else if path.starts_with("/v1/") {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        );
    }
    let status = resp.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| tracing::info!(%method, %path, status, latency_ms, "request"));
    if let Ok(value) = request_id.parse() {
        resp.headers_mut().insert("x-request-id", value);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    /// Every query or header parameter poem-openapi checks before an operation runs (an enum, a
    /// pattern) has words for its refusal; numbers are worded from their bounds, the tag and key
    /// headers are read by `headers`, and dates (`DateText` takes any text) by `TaskDate::parse`,
    /// which word their own refusals.
    #[test]
    fn every_checked_parameter_says_what_to_send() {
        let doc: Value = serde_json::from_str(&super::spec()).unwrap();
        let read_by_listo = ["If-Match", "If-None-Match", "Idempotency-Key"];
        let date = |schema: &Value| schema["format"] == "date";
        let mut checked = 0;
        for item in doc["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                for param in op["parameters"].as_array().into_iter().flatten() {
                    let name = param["name"].as_str().unwrap();
                    let schema = &param["schema"];
                    let number = schema["type"] == "integer";
                    let free = schema["type"] == "string"
                        && schema["pattern"].is_null()
                        && schema["enum"].is_null();
                    if param["in"] == "path"
                        || number
                        || free
                        || date(schema)
                        || read_by_listo.contains(&name)
                    {
                        continue;
                    }
                    checked += 1;
                    assert!(
                        super::problem::what_to_send(name).is_some(),
                        "{name}: a refusal would show poem-openapi's words"
                    );
                }
            }
        }
        assert!(
            checked >= 4,
            "status, scope, since, Last-Event-ID: {checked}"
        );
    }
}
