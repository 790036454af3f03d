//! Which problem each failure becomes: service errors, and errors raised before an operation ran.

use super::{ApiError, Code, FieldError, RETRY_STORAGE_SECS};
use crate::api::auth::Scope;
use crate::api::json::MAX_BODY_BYTES;
use crate::api::tasks::view::Status;
use crate::service::ServiceError;
use poem::http::StatusCode;
use poem_openapi::error::{AuthorizationError, ContentTypeError, ParseParamError, ParsePathError};
use poem_openapi::registry::Registry;
use poem_openapi::types::Type;

/// `Retry-After` of a `busy` answer: a full queue drains in about a second (see
/// `store::QUEUE_DEPTH`), a hash in about half of one.
const RETRY_BUSY_SECS: u64 = 1;

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Invalid { field, message } => Self::field(field, message),
            ServiceError::EmailTaken => Self::new(
                Code::EmailTaken,
                "An account with this email exists; log in instead.",
            ),
            ServiceError::InvalidCredentials => Self::new(
                Code::InvalidCredentials,
                "The email or the password is wrong.",
            ),
            ServiceError::RateLimited { retry_after_secs } => Self::new(
                Code::RateLimited,
                format!(
                    "Too many failed sign-ins or wrong codes; try again in {retry_after_secs} s."
                ),
            )
            .retry_after(retry_after_secs),
            ServiceError::EmailUnavailable(cause) => {
                tracing::error!(error = %cause, "code email could not be sent");
                Self::new(
                    Code::EmailUnavailable,
                    "The code could not be emailed; try again in a moment.",
                )
            }
            ServiceError::InvalidCode { attempts_left } => {
                let detail = match attempts_left {
                    Some(n) => format!("That code is wrong; {n} attempts left."),
                    None => "No pending code has that challenge_id here (or it was already used); ask for a new code.".into(),
                };
                let mut e = Self::new(Code::InvalidCode, detail);
                e.problem.attempts_left = attempts_left;
                e
            }
            ServiceError::CodeExpired => Self::new(
                Code::CodeExpired,
                "This code has expired or a newer one replaced it; ask for a new code.",
            ),
            ServiceError::TooManyAttempts => Self::new(
                Code::TooManyAttempts,
                "This code was cancelled after too many wrong tries; ask for a new one.",
            ),
            ServiceError::RefreshInvalid => Self::new(
                Code::RefreshInvalid,
                "This refresh token is unknown, expired, or its sign-in ended; log in again.",
            ),
            ServiceError::RefreshReused => Self::new(
                Code::RefreshReused,
                "This refresh token was already spent, so the sign-in was ended in case it was stolen; log in again.",
            ),
            ServiceError::SessionInvalid => Self::new(
                Code::SessionInvalid,
                "The access token is not valid; log in again.",
            ),
            ServiceError::SessionExpired => Self::new(
                Code::SessionExpired,
                "Your access token expired; trade your refresh token at /v1/auth/refresh, or log in again.",
            ),
            ServiceError::SessionRevoked => Self::new(
                Code::SessionRevoked,
                "This session was logged out; log in again.",
            ),
            ServiceError::PreconditionFailed { current } => {
                let current = crate::api::tasks::view::TaskView::from(*current);
                let mut e = Self::new(
                    Code::PreconditionFailed,
                    format!(
                        "The task changed since the version you sent; it is at version {} now (see `current`).",
                        current.version()
                    ),
                );
                e.problem.current = Some(Box::new(current));
                e
            }
            ServiceError::IdempotencyKeyReused => Self::new(
                Code::IdempotencyKeyReused,
                "This Idempotency-Key was used with another request; send a new key for a new request.",
            ),
            ServiceError::IdempotencyInProgress => Self::new(
                Code::IdempotencyInProgress,
                "A request with this Idempotency-Key is still running; retry in a moment.",
            ),
            ServiceError::SessionNotFound => Self::new(
                Code::SessionNotFound,
                "You have no live session with that id.",
            ),
            ServiceError::UnknownPosition => Self::new(
                Code::InvalidCursor,
                "This position is ahead of your change feed; send a next_since or event id you were given, or leave it out to start from the oldest change kept.",
            ),
            ServiceError::ChangesExpired => Self::new(
                Code::ChangesExpired,
                "Changes after this position are no longer all kept; read your list afresh: GET /v1/tasks/changes without since lists every task as it is now, and its next_since follows on.",
            ),
            ServiceError::TaskNotFound => {
                Self::new(Code::TaskNotFound, "You have no task with that id.")
            }
            ServiceError::Contended => Self::new(
                Code::Unavailable,
                "Storage is unavailable for a moment; nothing was changed. Retry in a few seconds.",
            )
            .retry_after(RETRY_STORAGE_SECS),
            ServiceError::ListNotFound => {
                Self::new(Code::NotFound, "You have no list with that id.")
            }
            ServiceError::DefaultList => Self::new(
                Code::DefaultList,
                "Your default list cannot be deleted (GET /v1/tasks works on it); delete its tasks instead.",
            ),
            ServiceError::ListPreconditionFailed { current } => {
                let current = crate::api::lists::view::ListView::from(*current);
                let mut e = Self::new(
                    Code::PreconditionFailed,
                    format!(
                        "The list changed since the version you sent; it is at version {} now (see `current_list`).",
                        current.version
                    ),
                );
                e.problem.current_list = Some(Box::new(current));
                e
            }
            ServiceError::InvalidOrder { message, ids } => {
                let mut e = Self::new(Code::InvalidOrder, format!("{message}."));
                e.problem.errors = Some(vec![FieldError {
                    field: "task_ids".into(),
                    message,
                }]);
                e.problem.task_ids = Some(ids);
                e
            }
            ServiceError::OrderConflict { current } => {
                let mut e = Self::new(
                    Code::OrderConflict,
                    "task_ids must be exactly the tasks this page holds now (listed in task_ids); reload the page and try again.",
                );
                e.problem.task_ids = Some(current);
                e
            }
            ServiceError::Busy => Self::new(
                Code::Busy,
                "Too many sign-ins are being checked right now; try again in a second.",
            )
            .retry_after(RETRY_BUSY_SECS),
            ServiceError::QuotaExceeded {
                what,
                limit,
                used,
                retry_after_secs,
            } => {
                let mut e = match retry_after_secs {
                    None => Self::new(
                        Code::QuotaExceeded,
                        format!(
                            "You hold {used} {what}, the most one account may ({limit}); delete some and try again."
                        ),
                    ),
                    Some(secs) => Self::new(
                        Code::QuotaExceededForNow,
                        format!(
                            "Your {what} fill your share ({used} of {limit}); nothing was done. Retry in {secs} s, when older ones expire, or send the request without an Idempotency-Key."
                        ),
                    )
                    .retry_after(secs),
                };
                e.problem.limit = Some(limit);
                e.problem.used = Some(used);
                e
            }
            ServiceError::Store(cause) if cause.is_busy() => {
                // Load, not a fault: a warning, and the queue is not named to the client.
                tracing::warn!(error = %cause, "turned away: the database queue is full");
                Self::new(
                    Code::Busy,
                    "listo is busy right now and did nothing with this request; retry in a moment.",
                )
                .retry_after(RETRY_BUSY_SECS)
            }
            ServiceError::Store(cause) if cause.is_transient() => Self::unavailable(&cause),
            ServiceError::Store(cause) => Self::internal(&cause),
            ServiceError::Hashing(cause) => Self::internal(&cause),
        }
    }
}

/// Turns an error raised before an operation ran (parsing, routing, the auth header) into a
/// problem. `had_credentials`: the request carried an `Authorization` header, so a refused one
/// is `session_invalid`, not `session_missing`.
pub fn from_poem(err: poem::Error, had_credentials: bool) -> ApiError {
    if let Some(api) = err.downcast_ref::<ApiError>() {
        return api.clone();
    }
    if let Some(e) = err.downcast_ref::<ParseParamError>() {
        return ApiError::field(e.name, refusal(e.name, &e.reason));
    }
    if let Some(e) = err.downcast_ref::<ParsePathError>() {
        // poem-openapi renames path parameters internally (`param0`); listo's only one is `{id}`.
        return ApiError::field("id", refusal("id", &e.reason));
    }
    if err.is::<AuthorizationError>() {
        return if had_credentials {
            ServiceError::SessionInvalid.into()
        } else {
            ApiError::new(
                Code::SessionMissing,
                "Send `Authorization: Bearer <access_token>`; get a token from /v1/auth/verify.",
            )
        };
    }
    if err.is::<ContentTypeError>() {
        return ApiError::new(
            Code::UnsupportedMediaType,
            "Send the body as JSON with `Content-Type: application/json`.",
        );
    }
    match err.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            Code::PayloadTooLarge,
            format!("The body is over {} KiB.", MAX_BODY_BYTES / 1024),
        ),
        StatusCode::NOT_FOUND => {
            ApiError::new(Code::NotFound, "No such endpoint; see /docs for the API.")
        }
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            Code::MethodNotAllowed,
            "This endpoint does not take that method; see /docs.",
        ),
        status if status.is_client_error() => ApiError::new(Code::BadRequest, err.to_string()),
        _ => ApiError::internal(&err),
    }
}

/// What a refused parameter is answered.
fn refusal(name: &str, reason: &str) -> String {
    if let Some(message) = what_to_send(name) {
        return message;
    }
    // The `{id}` of a task is a number (worded below); the only one with a pattern is a session's.
    if name == "id" && reason.contains("pattern(") {
        return "a session id from GET /v1/auth/sessions (letters, digits, _ and -)".into();
    }
    param_message(reason)
}

/// What to send, for each query or header parameter that poem-openapi checks before an
/// operation runs and that is not a number (whose bounds [`param_message`] words): a refusal
/// says this, never the parser's words. `crate::api` tests that every such parameter of the
/// document has one.
pub(crate) fn what_to_send(name: &str) -> Option<String> {
    Some(match name {
        "status" => one_of::<Status>(),
        "scope" => one_of::<Scope>(),
        "since" | "Last-Event-ID" => {
            "a position: a next_since or an event id you were given (1 to 18 digits)".into()
        }
        _ => return None,
    })
}

/// `one of a, b, c`: the values of a string enum, as the document lists them.
fn one_of<T: Type>() -> String {
    let mut registry = Registry::new();
    T::register(&mut registry);
    let values: Vec<String> = registry
        .schemas
        .get(&*T::name())
        .map(|schema| {
            schema
                .enum_items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    format!("one of {}", values.join(", "))
}

/// poem-openapi's reasons for a number, in words a client can act on; any other reason is not
/// shown (it reads like parser output).
fn param_message(reason: &str) -> String {
    if reason.contains("integer") {
        "must be a whole number".into()
    } else if let Some(min) = reason.strip_prefix("verification failed. minimum(") {
        format!(
            "must be at least {}",
            min.trim_end_matches(", exclusive: false)")
        )
    } else if let Some(max) = reason.strip_prefix("verification failed. maximum(") {
        format!(
            "must be at most {}",
            max.trim_end_matches(", exclusive: false)")
        )
    } else {
        "is not a value this parameter takes; see its schema in /docs".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem::error::ResponseError;
    use poem::http::header;

    #[test]
    fn enum_parameters_say_which_values_to_send() {
        assert_eq!(
            what_to_send("scope").as_deref(),
            Some("one of local, others, global")
        );
        assert_eq!(
            what_to_send("status").as_deref(),
            Some("one of Completed, Incomplete")
        );
        assert_eq!(what_to_send("page"), None);
        assert_eq!(
            param_message("failed to parse \"Scope\": Expect a valid enumeration value."),
            "is not a value this parameter takes; see its schema in /docs"
        );
    }

    #[test]
    fn busy_is_503_with_retry_after() {
        let resp = ApiError::from(ServiceError::Busy).as_response();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "1");
        assert_eq!(
            resp.headers()[header::CONTENT_TYPE],
            super::super::PROBLEM_JSON
        );
    }

    #[test]
    fn a_full_queue_is_busy_with_retry_after_and_no_internals() {
        let cause = crate::service::StoreError::busy("write", 1024);
        let err = ApiError::from(ServiceError::Store(cause));
        assert_eq!(err.problem().code, "busy");
        assert!(
            !err.problem().detail.contains("queue"),
            "{}",
            err.problem().detail
        );
        let resp = err.as_response();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "1");
    }

    #[test]
    fn internal_errors_show_no_cause() {
        let cause = crate::service::StoreError::corrupt("secret table detail");
        let err = ApiError::from(ServiceError::Store(cause));
        assert_eq!(err.problem().code, "internal");
        assert!(!err.problem().detail.contains("secret table detail"));
    }
}
