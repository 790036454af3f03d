//! Every error leaves as `application/problem+json` (RFC 9457) with a stable `code`.
//!
//! [`code`] is the table of codes (status, title, headers), [`mapping`] says which failure
//! becomes which code, and [`declared`] writes each operation's codes into the OpenAPI document.

mod code;
mod declared;
mod mapping;

pub use code::{BODY, Code, SESSION};
pub(crate) use declared::declare;
pub use declared::{Declared, Failure};
pub use mapping::from_poem;
#[cfg(test)]
pub(crate) use mapping::what_to_send;

use crate::domain::Invalid;
use code::Header;
use poem::http::{HeaderValue, StatusCode, header};
use poem::{IntoResponse, Response};
use poem_openapi::Object;
use poem_openapi::types::ToJSON;

/// Seconds a client is asked to wait after a storage failure that passes.
pub const RETRY_STORAGE_SECS: u64 = 2;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Object)]
pub struct Problem {
    /// Always `about:blank`: `code` is the machine-readable kind.
    #[oai(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status, repeated for convenience.
    pub status: u16,
    /// A stable machine string, e.g. `session_expired`.
    pub code: String,
    /// A sentence a person can act on.
    pub detail: String,
    /// Which input fields were refused and why (validation errors only).
    #[oai(skip_serializing_if_is_none)]
    pub errors: Option<Vec<FieldError>>,
    /// Wrong codes still allowed for this challenge (`invalid_code` only).
    #[oai(skip_serializing_if_is_none)]
    pub attempts_left: Option<u32>,
    /// The ids at fault (`invalid_order`) or the ids the page holds now (`order_conflict`).
    #[oai(skip_serializing_if_is_none)]
    pub task_ids: Option<Vec<i64>>,
    /// The quota (`quota_exceeded` only): how many one account may hold, or bytes.
    #[oai(skip_serializing_if_is_none)]
    pub limit: Option<u64>,
    /// How much of the quota is in use (`quota_exceeded` only).
    #[oai(skip_serializing_if_is_none)]
    pub used: Option<u64>,
    // The task as it is now (`precondition_failed`): its `version` is the one to send next.
    // (Undocumented here: a described `$ref` comes out as an `allOf` clients stumble on.)
    #[oai(skip_serializing_if_is_none)]
    pub current: Option<Box<crate::api::tasks::view::TaskView>>,
    // The list as it is now (`precondition_failed` on a list): its `version` is the one to send
    // next. (Undocumented here for the same reason.)
    #[oai(skip_serializing_if_is_none)]
    pub current_list: Option<Box<crate::api::lists::view::ListView>>,
}

/// One refused input field.
#[derive(Debug, Clone, Object)]
pub struct FieldError {
    /// The field, query parameter or path parameter name (`body` for the body as a whole).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// A problem plus the headers that travel with it.
#[derive(Debug, Clone)]
pub struct ApiError {
    code: Code,
    // Boxed: errors travel through every `Result` in the HTTP layer; keep them small.
    problem: Box<Problem>,
    retry_after: Option<u64>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.problem.status, self.problem.code)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// A problem of kind `code` (status and title from the table) with this detail.
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        let entry = code.entry();
        Self {
            code,
            problem: Box::new(Problem {
                kind: "about:blank".into(),
                title: entry.title.into(),
                status: entry.status,
                code: entry.code.into(),
                detail: detail.into(),
                errors: None,
                attempts_left: None,
                task_ids: None,
                limit: None,
                used: None,
                current: None,
                current_list: None,
            }),
            retry_after: None,
        }
    }

    /// 422 `validation_failed` naming each refused field.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let names: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        let detail = format!(
            "Fix the request and send it again; refused: {}.",
            names.join(", ")
        );
        let mut err = Self::new(Code::ValidationFailed, detail);
        err.problem.errors = Some(errors);
        err
    }

    /// 422 for one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    /// 503 `unavailable` for a storage failure that passes; the cause is logged, never shown.
    /// A write whose commit may have been applied says so.
    pub fn unavailable(cause: &crate::service::StoreError) -> Self {
        tracing::warn!(error = %cause, "storage unavailable");
        let detail = if cause.maybe_committed() {
            "Storage failed while saving: if this request changed something, the change may or may not have been saved. Retry in a moment; with the same Idempotency-Key the retry is safe, or read the data back first."
        } else {
            "Storage is unavailable for a moment; nothing was changed. Retry in a few seconds."
        };
        Self::new(Code::Unavailable, detail).retry_after(RETRY_STORAGE_SECS)
    }

    /// 503 `unavailable` from a process that does not serve yet: it waits for the replica's
    /// lease, restores its database, or waits for Litestream.
    pub fn standing_by() -> Self {
        Self::new(
            Code::Unavailable,
            "This server is not serving yet: it is restoring its database from the replica, or waiting for the previous server to hand over. Nothing was changed; retry in a few seconds.",
        )
        .retry_after(RETRY_STORAGE_SECS)
    }

    /// 500 `internal`; the cause is logged here and never shown.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        Self::new(
            Code::Internal,
            "Something went wrong on our side; try again later.",
        )
    }

    /// The problem document.
    pub fn problem(&self) -> &Problem {
        &self.problem
    }

    /// Sets `Retry-After` (for the codes whose table row carries it).
    fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The RFC 6750 challenge: no error attribute when no credentials were sent (§3.1).
    fn www_authenticate(&self) -> String {
        match self.code {
            Code::SessionMissing => "Bearer realm=\"listo\"".into(),
            _ => format!(
                "Bearer realm=\"listo\", error=\"invalid_token\", error_description=\"{}\"",
                self.problem.detail
            ),
        }
    }
}

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        ApiError::status(self)
    }

    fn as_response(&self) -> Response {
        let body = self.problem.to_json_string();
        let mut resp = Response::builder()
            .status(self.status())
            .content_type(PROBLEM_JSON)
            .body(body);
        let headers = resp.headers_mut();
        match self.code.entry().header {
            Some(Header::WwwAuthenticate) => {
                if let Ok(value) = HeaderValue::from_str(&self.www_authenticate()) {
                    headers.insert(header::WWW_AUTHENTICATE, value);
                }
            }
            Some(Header::RetryAfter) => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(self.retry_after.unwrap_or(1)),
                );
            }
            // Which methods a path takes is known where requests are routed: `api::handle`.
            Some(Header::Allow) => {}
            None => {}
        }
        resp
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        poem::error::ResponseError::as_response(&self)
    }
}

/// Parses three fields, reporting every one refused.
pub fn three<A, B, C>(
    a: (&'static str, Result<A, Invalid>),
    b: (&'static str, Result<B, Invalid>),
    c: (&'static str, Result<C, Invalid>),
) -> Result<(A, B, C), ApiError> {
    let third = c.1.map_err(|e| (c.0, e));
    match (both(a, b), third) {
        (Ok((x, y)), Ok(z)) => Ok((x, y, z)),
        (first, third) => {
            let mut errors = first
                .err()
                .and_then(|e| e.problem.errors.clone())
                .unwrap_or_default();
            if let Err((field, e)) = third {
                errors.push(FieldError {
                    field: field.into(),
                    message: e.0,
                });
            }
            Err(ApiError::validation(errors))
        }
    }
}

/// Parses two fields, reporting both when both are refused.
pub fn both<A, B>(
    a: (&'static str, Result<A, Invalid>),
    b: (&'static str, Result<B, Invalid>),
) -> Result<(A, B), ApiError> {
    match (a.1, b.1) {
        (Ok(x), Ok(y)) => Ok((x, y)),
        (x, y) => Err(ApiError::validation(
            [(a.0, x.err()), (b.0, y.err())]
                .into_iter()
                .filter_map(|(field, err)| {
                    err.map(|e| FieldError {
                        field: field.into(),
                        message: e.0,
                    })
                })
                .collect(),
        )),
    }
}
