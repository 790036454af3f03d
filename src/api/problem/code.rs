//! The table of problem codes: each code's status, title, the header that travels with it and
//! what it means. Answers are built from this table and the OpenAPI document declares from it,
//! so the two cannot disagree.

/// A response header some problems carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    /// RFC 6750 Bearer challenge, on every session problem.
    WwwAuthenticate,
    /// Whole seconds to wait before trying again.
    RetryAfter,
    /// The methods the path does take (RFC 9110 §15.5.6).
    Allow,
}

impl Header {
    /// The header's name.
    pub const fn name(self) -> &'static str {
        match self {
            Header::WwwAuthenticate => "WWW-Authenticate",
            Header::RetryAfter => "Retry-After",
            Header::Allow => "Allow",
        }
    }

    /// What it says, for the document.
    pub const fn description(self) -> &'static str {
        match self {
            Header::WwwAuthenticate => "RFC 6750 Bearer challenge naming why the token was refused",
            Header::RetryAfter => "Seconds to wait before trying again",
            Header::Allow => "The methods this path takes",
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// HTTP status.
    pub status: u16,
    /// The stable machine string clients switch on.
    pub code: &'static str,
    /// A short summary of the kind of problem.
    pub title: &'static str,
    /// The header every answer with this code carries, if any.
    pub header: Option<Header>,
    /// What the code means, for the document.
    pub meaning: &'static str,
}

const fn entry(
    status: u16,
    code: &'static str,
    title: &'static str,
    header: Option<Header>,
    meaning: &'static str,
) -> Entry {
    Entry {
        status,
        code,
        title,
        header,
        meaning,
    }
}

/// Every problem code listo answers with.
#[allow(missing_docs)] // each variant is described by its row in `Code::entry`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    MalformedJson,
    BadRequest,
    SessionMissing,
    SessionInvalid,
    SessionExpired,
    SessionRevoked,
    InvalidCredentials,
    InvalidCode,
    CodeExpired,
    RefreshInvalid,
    RefreshReused,
    TaskNotFound,
    SessionNotFound,
    NotFound,
    MethodNotAllowed,
    EmailTaken,
    QuotaExceeded,
    OrderConflict,
    DefaultList,
    IdempotencyInProgress,
    ChangesExpired,
    PreconditionFailed,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    InvalidOrder,
    InvalidCursor,
    IdempotencyKeyReused,
    RateLimited,
    QuotaExceededForNow,
    TooManyAttempts,
    Internal,
    EmailUnavailable,
    Busy,
    Unavailable,
    NotReady,
}

impl Code {
    /// Every code, for tests and the documentation.
    pub const ALL: &'static [Code] = &[
        Code::MalformedJson,
        Code::BadRequest,
        Code::SessionMissing,
        Code::SessionInvalid,
        Code::SessionExpired,
        Code::SessionRevoked,
        Code::InvalidCredentials,
        Code::InvalidCode,
        Code::CodeExpired,
        Code::RefreshInvalid,
        Code::RefreshReused,
        Code::TaskNotFound,
        Code::SessionNotFound,
        Code::NotFound,
        Code::MethodNotAllowed,
        Code::EmailTaken,
        Code::QuotaExceeded,
        Code::OrderConflict,
        Code::DefaultList,
        Code::IdempotencyInProgress,
        Code::ChangesExpired,
        Code::PreconditionFailed,
        Code::PayloadTooLarge,
        Code::UnsupportedMediaType,
        Code::ValidationFailed,
        Code::InvalidOrder,
        Code::InvalidCursor,
        Code::IdempotencyKeyReused,
        Code::RateLimited,
        Code::QuotaExceededForNow,
        Code::TooManyAttempts,
        Code::Internal,
        Code::EmailUnavailable,
        Code::Busy,
        Code::Unavailable,
        Code::NotReady,
    ];

    /// This code's row.
    pub const fn entry(self) -> Entry {
        use Header::{Allow, RetryAfter, WwwAuthenticate};
        let session = Some(WwwAuthenticate);
        match self {
            Code::MalformedJson => entry(
                400,
                "malformed_json",
                "Malformed JSON",
                None,
                "the body is not valid JSON",
            ),
            Code::BadRequest => entry(
                400,
                "bad_request",
                "Bad request",
                None,
                "the request could not be read",
            ),
            Code::SessionMissing => entry(
                401,
                "session_missing",
                "Not signed in",
                session,
                "no `Authorization: Bearer` header",
            ),
            Code::SessionInvalid => entry(
                401,
                "session_invalid",
                "Session not valid",
                session,
                "the token is malformed or unknown",
            ),
            Code::SessionExpired => entry(
                401,
                "session_expired",
                "Session not valid",
                session,
                "the session is past its expiry",
            ),
            Code::SessionRevoked => entry(
                401,
                "session_revoked",
                "Session not valid",
                session,
                "the session was logged out",
            ),
            Code::InvalidCredentials => entry(
                401,
                "invalid_credentials",
                "Invalid credentials",
                None,
                "unknown email or wrong password (indistinguishable)",
            ),
            Code::InvalidCode => entry(
                401,
                "invalid_code",
                "Invalid code",
                None,
                "a wrong code (`attempts_left` says how many remain), a code sent where it does not belong, or an unknown challenge",
            ),
            Code::CodeExpired => entry(
                401,
                "code_expired",
                "Code expired",
                None,
                "the code's life is over, or a newer one replaced it",
            ),
            Code::RefreshInvalid => entry(
                401,
                "refresh_invalid",
                "Refresh token not valid",
                None,
                "the refresh token is unknown, expired, or its sign-in ended (log in again)",
            ),
            Code::RefreshReused => entry(
                401,
                "refresh_reused",
                "Refresh token reused",
                None,
                "a spent refresh token was sent again past its grace: taken as stolen, the whole sign-in ended (log in again)",
            ),
            Code::TaskNotFound => entry(
                404,
                "task_not_found",
                "Task not found",
                None,
                "you have no task with that id",
            ),
            Code::SessionNotFound => entry(
                404,
                "session_not_found",
                "Session not found",
                None,
                "you have no live session with that id",
            ),
            Code::NotFound => entry(
                404,
                "not_found",
                "Not found",
                None,
                "no such endpoint, or no list with that id that you can see",
            ),
            Code::MethodNotAllowed => entry(
                405,
                "method_not_allowed",
                "Method not allowed",
                Some(Allow),
                "the endpoint does not take that method",
            ),
            Code::EmailTaken => entry(
                409,
                "email_taken",
                "Email already registered",
                None,
                "an account with this email exists",
            ),
            Code::QuotaExceeded => entry(
                409,
                "quota_exceeded",
                "Quota exceeded",
                None,
                "you hold as many of these as one account may (`limit`, `used`); delete some first",
            ),
            Code::OrderConflict => entry(
                409,
                "order_conflict",
                "Order conflict",
                None,
                "the ids are not exactly the tasks this page holds now; `task_ids` lists them",
            ),
            Code::DefaultList => entry(
                409,
                "default_list",
                "Default list",
                None,
                "the default list (the one `/v1/tasks` works on) cannot be deleted",
            ),
            Code::IdempotencyInProgress => entry(
                409,
                "idempotency_in_progress",
                "Idempotent request in progress",
                None,
                "a request with this `Idempotency-Key` is still running; retry in a moment",
            ),
            Code::ChangesExpired => entry(
                410,
                "changes_expired",
                "Changes expired",
                None,
                "`since` is older than the change history kept (deletes are kept 30 days); read the feed again without `since`, which lists everything as it is now",
            ),
            Code::PreconditionFailed => entry(
                412,
                "precondition_failed",
                "Precondition failed",
                None,
                "the task (or list) changed since the version in `If-Match`; `current` is the task as it is now (`current_list` the list)",
            ),
            Code::PayloadTooLarge => entry(
                413,
                "payload_too_large",
                "Payload too large",
                None,
                "the body is over 64 KiB",
            ),
            Code::UnsupportedMediaType => entry(
                415,
                "unsupported_media_type",
                "Unsupported media type",
                None,
                "send `Content-Type: application/json`",
            ),
            Code::ValidationFailed => entry(
                422,
                "validation_failed",
                "Validation failed",
                None,
                "`errors` names each refused field",
            ),
            Code::InvalidOrder => entry(
                422,
                "invalid_order",
                "Invalid order",
                None,
                "duplicate ids, or ids that are not yours; `task_ids` lists them",
            ),
            Code::InvalidCursor => entry(
                422,
                "invalid_cursor",
                "Invalid cursor",
                None,
                "the cursor (or the change-feed position) is not one listo made for you, or was made for other filters",
            ),
            Code::IdempotencyKeyReused => entry(
                422,
                "idempotency_key_reused",
                "Idempotency key reused",
                None,
                "this `Idempotency-Key` was used with another request or operation; use a new key",
            ),
            Code::RateLimited => entry(
                429,
                "rate_limited",
                "Too many attempts",
                Some(RetryAfter),
                "too many failed sign-ins for this email or address, or wrong codes for this account",
            ),
            Code::QuotaExceededForNow => entry(
                429,
                "quota_exceeded",
                "Quota exceeded",
                Some(RetryAfter),
                "the answers kept for your `Idempotency-Key`s fill your share (`limit`, `used` bytes); nothing was done; retry after `Retry-After` seconds, or send the request without a key",
            ),
            Code::TooManyAttempts => entry(
                429,
                "too_many_attempts",
                "Too many wrong codes",
                None,
                "the challenge was burned by wrong codes",
            ),
            Code::Internal => entry(
                500,
                "internal",
                "Internal error",
                None,
                "an unexpected failure on the server",
            ),
            Code::EmailUnavailable => entry(
                503,
                "email_unavailable",
                "Email unavailable",
                None,
                "the code could not be emailed; nothing was stored",
            ),
            Code::Busy => entry(
                503,
                "busy",
                "Busy",
                Some(RetryAfter),
                "too many sign-ins are being checked, or too many requests already wait for the database; nothing was done; retry after `Retry-After` seconds",
            ),
            Code::Unavailable => entry(
                503,
                "unavailable",
                "Service unavailable",
                Some(RetryAfter),
                "storage failed for a moment (a full disk, the database restarting); retry after `Retry-After` seconds; `detail` says whether a change may have been saved",
            ),
            Code::NotReady => entry(
                503,
                "not_ready",
                "Not ready",
                None,
                "`/readyz` only: writes to the database fail right now (a write failed in the last few seconds with none committed since, or the probe's own write failed)",
            ),
        }
    }

    /// The machine string.
    pub const fn as_str(self) -> &'static str {
        self.entry().code
    }
}

/// Codes every operation that reads a JSON body can answer.
pub const BODY: &[Code] = &[
    Code::MalformedJson,
    Code::PayloadTooLarge,
    Code::UnsupportedMediaType,
    Code::ValidationFailed,
];

/// Codes every signed-in operation can answer.
pub const SESSION: &[Code] = &[
    Code::SessionMissing,
    Code::SessionInvalid,
    Code::SessionExpired,
    Code::SessionRevoked,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_all_listed() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            let e = code.entry();
            // One code may answer with two statuses (`quota_exceeded`: 409 for what you own,
            // 429 for what frees itself in time); each pair once.
            assert!(seen.insert((e.status, e.code)), "{} twice", e.code);
            assert!((400..600).contains(&e.status));
            let session = SESSION.contains(code);
            assert_eq!(
                session,
                e.header == Some(Header::WwwAuthenticate),
                "{}",
                e.code
            );
        }
        assert_eq!(seen.len(), Code::ALL.len());
    }
}
