//! Every error leaves as `application/problem+json` (RFC 9457) with a stable `code`.

use crate::domain::Invalid;
use crate::service::ServiceError;
use poem::http::{HeaderValue, StatusCode, header};
use poem::{IntoResponse, Response};
use poem_openapi::registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::{ToJSON, Type};
use poem_openapi::{ApiResponse, Object};
use std::marker::PhantomData;

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
    // Boxed: errors travel through every `Result` in the HTTP layer; keep them pointer-sized.
    problem: Box<Problem>,
    www_authenticate: Option<String>,
    retry_after: Option<u64>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.problem.status, self.problem.code)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// A problem with no extras.
    pub fn new(status: StatusCode, code: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            problem: Box::new(Problem {
                kind: "about:blank".into(),
                title: title.into(),
                status: status.as_u16(),
                code: code.into(),
                detail: detail.into(),
                errors: None,
                attempts_left: None,
                task_ids: None,
            }),
            www_authenticate: None,
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
        let mut err = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "Validation failed",
            detail,
        );
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

    /// 401 `session_missing`: no bearer credentials at all (RFC 6750 §3.1: no error attribute).
    pub fn session_missing() -> Self {
        let mut err = Self::new(
            StatusCode::UNAUTHORIZED,
            "session_missing",
            "Not signed in",
            "Send `Authorization: Bearer <access_token>`; get a token from /v1/auth/verify.",
        );
        err.www_authenticate = Some("Bearer realm=\"listo\"".into());
        err
    }

    /// 500 `internal`; the cause is logged here and never shown.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "Something went wrong on our side; try again later.",
        )
    }

    /// The problem document.
    pub fn problem(&self) -> &Problem {
        &self.problem
    }

    fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn session(code: &str, detail: &str) -> Self {
        let mut err = Self::new(StatusCode::UNAUTHORIZED, code, "Session not valid", detail);
        err.www_authenticate = Some(format!(
            "Bearer realm=\"listo\", error=\"invalid_token\", error_description=\"{detail}\""
        ));
        err
    }

    fn with_task_ids(mut self, ids: Vec<i64>) -> Self {
        self.problem.task_ids = Some(ids);
        self
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        use StatusCode as S;
        match err {
            ServiceError::Invalid { field, message } => Self::field(field, message),
            ServiceError::EmailTaken => Self::new(
                S::CONFLICT,
                "email_taken",
                "Email already registered",
                "An account with this email exists; log in instead.",
            ),
            ServiceError::InvalidCredentials => Self::new(
                S::UNAUTHORIZED,
                "invalid_credentials",
                "Invalid credentials",
                "The email or the password is wrong.",
            ),
            ServiceError::RateLimited { retry_after_secs } => {
                let mut e = Self::new(
                    S::TOO_MANY_REQUESTS,
                    "rate_limited",
                    "Too many attempts",
                    format!("Too many sign-in attempts; try again in {retry_after_secs} s."),
                );
                e.retry_after = Some(retry_after_secs);
                e
            }
            ServiceError::EmailUnavailable(cause) => {
                tracing::error!(error = %cause, "sign-in email could not be sent");
                Self::new(
                    S::SERVICE_UNAVAILABLE,
                    "email_unavailable",
                    "Email unavailable",
                    "The sign-in code could not be emailed; try logging in again in a moment.",
                )
            }
            ServiceError::InvalidCode { attempts_left } => {
                let detail = match attempts_left {
                    Some(n) => format!("That code is wrong; {n} attempts left."),
                    None => "No pending login has that challenge_id (or its code was already used); log in again.".into(),
                };
                let mut e = Self::new(S::UNAUTHORIZED, "invalid_code", "Invalid code", detail);
                e.problem.attempts_left = attempts_left;
                e
            }
            ServiceError::CodeExpired => Self::new(
                S::UNAUTHORIZED,
                "code_expired",
                "Code expired",
                "This code has expired; log in again for a new one.",
            ),
            ServiceError::TooManyAttempts => Self::new(
                S::TOO_MANY_REQUESTS,
                "too_many_attempts",
                "Too many wrong codes",
                "This login was cancelled after too many wrong codes; log in again for a new one.",
            ),
            ServiceError::SessionInvalid => Self::session("session_invalid", "The access token is not valid; log in again."),
            ServiceError::SessionExpired => Self::session("session_expired", "Your session expired; log in again."),
            ServiceError::SessionRevoked => Self::session("session_revoked", "This session was logged out; log in again."),
            ServiceError::TaskNotFound => Self::new(
                S::NOT_FOUND,
                "task_not_found",
                "Task not found",
                "You have no task with that id.",
            ),
            ServiceError::InvalidOrder { message, ids } => {
                let mut e = Self::new(S::UNPROCESSABLE_ENTITY, "invalid_order", "Invalid order", format!("{message}."));
                e.problem.errors = Some(vec![FieldError {
                    field: "task_ids".into(),
                    message,
                }]);
                e.with_task_ids(ids)
            }
            ServiceError::OrderConflict { current } => Self::new(
                S::CONFLICT,
                "order_conflict",
                "Order conflict",
                "task_ids must be exactly the tasks this page holds now (listed in task_ids); reload the page and try again.",
            )
            .with_task_ids(current),
            ServiceError::Busy => {
                let mut e = Self::new(
                    S::SERVICE_UNAVAILABLE,
                    "busy",
                    "Busy",
                    "Too many sign-ins are being checked right now; try again in a second.",
                );
                e.retry_after = Some(1);
                e
            }
            ServiceError::Store(cause) => Self::internal(&cause),
            ServiceError::Hashing(cause) => Self::internal(&cause),
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
        if let Some(value) = self
            .www_authenticate
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        poem::error::ResponseError::as_response(&self)
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

/// The error statuses one operation can answer, for its OpenAPI entry.
pub trait Declared: Send + Sync + 'static {
    /// Status and what it means for this operation.
    const RESPONSES: &'static [(u16, &'static str)];
}

/// An operation's error: an [`ApiError`] documented with the statuses of `D`.
pub struct Failure<D: Declared>(ApiError, PhantomData<D>);

impl<D: Declared> Failure<D> {
    /// Wraps a problem.
    pub fn new(err: ApiError) -> Self {
        Self(err, PhantomData)
    }
}

impl<D: Declared> From<ApiError> for Failure<D> {
    fn from(err: ApiError) -> Self {
        Self::new(err)
    }
}

impl<D: Declared> From<ServiceError> for Failure<D> {
    fn from(err: ServiceError) -> Self {
        Self::new(err.into())
    }
}

impl<D: Declared> From<Failure<D>> for poem::Error {
    fn from(f: Failure<D>) -> Self {
        poem::Error::from(f.0)
    }
}

impl<D: Declared> IntoResponse for Failure<D> {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

impl<D: Declared> ApiResponse for Failure<D> {
    fn meta() -> MetaResponses {
        let header = |name: &str, description: &str| MetaHeader {
            name: name.into(),
            description: Some(description.into()),
            required: true,
            deprecated: false,
            schema: String::schema_ref(),
        };
        MetaResponses {
            responses: D::RESPONSES
                .iter()
                .map(|&(status, description)| MetaResponse {
                    description,
                    status: Some(status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: PROBLEM_JSON,
                        schema: Problem::schema_ref(),
                    }],
                    headers: match status {
                        401 if description.contains("session_") => {
                            vec![header("WWW-Authenticate", "RFC 6750 Bearer challenge")]
                        }
                        _ if description.contains("Retry-After") => {
                            vec![header("Retry-After", "Seconds to wait before trying again")]
                        }
                        _ => Vec::new(),
                    },
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        Problem::register(registry);
    }
}

/// Declares an error set: `declare!(Name: (status, "meaning"), ...)`.
macro_rules! declare {
    ($name:ident: $($resp:expr),+ $(,)?) => {
        #[doc = concat!("Error responses of ", stringify!($name), ".")]
        pub struct $name;
        impl $crate::api::problem::Declared for $name {
            const RESPONSES: &'static [(u16, &'static str)] = &[$($resp),+];
        }
    };
}
pub(crate) use declare;

/// 400: the body is not JSON.
pub const MALFORMED: (u16, &str) = (400, "malformed_json: the body is not valid JSON");
/// 401 on every signed-in operation.
pub const SESSION: (u16, &str) = (
    401,
    "session_missing, session_invalid, session_expired or session_revoked",
);
/// 413: body over the size limit.
pub const TOO_LARGE: (u16, &str) = (413, "payload_too_large: the body is over 64 KiB");
/// 415: not `application/json`.
pub const MEDIA_TYPE: (u16, &str) = (
    415,
    "unsupported_media_type: send Content-Type: application/json",
);
/// 422: fields refused.
pub const VALIDATION: (u16, &str) = (
    422,
    "validation_failed: the `errors` member names each refused field",
);
/// 500.
pub const INTERNAL: (u16, &str) = (500, "internal: an unexpected failure on the server");

#[cfg(test)]
mod tests {
    use super::*;
    use poem::error::ResponseError;

    #[test]
    fn busy_is_503_with_retry_after() {
        let resp = ApiError::from(ServiceError::Busy).as_response();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "1");
        assert_eq!(resp.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
    }

    #[test]
    fn internal_errors_show_no_cause() {
        let cause = crate::store::StoreError::Corrupt("secret table detail".into());
        let err = ApiError::from(ServiceError::Store(cause));
        assert_eq!(err.problem().code, "internal");
        assert!(!err.problem().detail.contains("secret table detail"));
    }
}
