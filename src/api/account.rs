//! `/v1/auth/*` for the rest of an account's life: change or reset the password, see and end
//! sessions, delete the account.

use super::ApiTags;
use super::auth::{Challenge, seconds_until};
use super::client::Client;
use super::email::EmailField;
use super::json::JsonBody;
use super::problem::{ApiError, BODY, Code, Failure, SESSION, both, declare, three};
use super::security::SignedIn;
use crate::domain::{ChallengeId, Email, OtpCode, Password, SessionId};
use crate::service::{Auth, SessionSummary};
use chrono::{DateTime, Utc};
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

// Debug is not derived on bodies holding a password or a code, so neither can reach a log line.

/// The password in use and the one to use from now on.
#[derive(Object, Deserialize)]
#[oai(deny_unknown_fields, example)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The password in use now.
    #[oai(validator(min_length = 8, max_length = 128))]
    current_password: String,
    /// The new password, 8 to 128 characters.
    #[oai(validator(min_length = 8, max_length = 128))]
    new_password: String,
}

impl Example for PasswordChange {
    fn example() -> Self {
        Self {
            current_password: "correct horse battery".into(),
            new_password: "correct horse battery staple".into(),
        }
    }
}

/// Whose password to reset.
#[derive(Object, Deserialize)]
#[oai(deny_unknown_fields, example)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    /// The account's email. At most 254 characters, 64 before the `@`; spaces around
    /// are taken off.
    email: EmailField,
}

impl Example for ResetRequest {
    fn example() -> Self {
        Self {
            email: EmailField("ada@example.com".into()),
        }
    }
}

/// The emailed reset code, its challenge, and the new password.
#[derive(Object, Deserialize)]
#[oai(deny_unknown_fields, example)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirmation {
    /// The `challenge_id` the reset request answered with.
    #[oai(validator(pattern = r"^[A-Za-z0-9_-]{22}$"))]
    challenge_id: String,
    /// The 6 digits from the email.
    #[oai(validator(pattern = r"^[0-9]{6}$"))]
    code: String,
    /// The new password, 8 to 128 characters.
    #[oai(validator(min_length = 8, max_length = 128))]
    new_password: String,
}

impl Example for ResetConfirmation {
    fn example() -> Self {
        // A challenge id is a secret only the reset request's answer carries.
        Self {
            challenge_id: "paste_challenge_id_now".into(),
            code: "123456".into(),
            new_password: "correct horse battery staple".into(),
        }
    }
}

/// The password, to confirm deleting the account.
#[derive(Object, Deserialize)]
#[oai(deny_unknown_fields, example)]
#[serde(deny_unknown_fields)]
pub struct AccountDeletion {
    /// The account's password.
    #[oai(validator(min_length = 8, max_length = 128))]
    password: String,
}

impl Example for AccountDeletion {
    fn example() -> Self {
        Self {
            password: "correct horse battery".into(),
        }
    }
}

/// One of your live sign-ins: one verify and the refreshes after it.
#[derive(Debug, Object)]
#[oai(rename = "Session")]
pub struct SessionView {
    /// Public id: `DELETE /v1/auth/sessions/{id}` ends it. Not the token, and nothing of it.
    id: String,
    /// When it was opened (the verify).
    issued_at: DateTime<Utc>,
    /// When it ends unless refreshed: its refresh token's expiry, or without refresh tokens its
    /// access token's.
    expires_at: DateTime<Utc>,
    /// Seconds left.
    expires_in: i64,
    /// Whether it is the session making this request.
    current: bool,
    /// The `User-Agent` it was opened with, when there was one.
    user_agent: Option<String>,
    /// The client address it was opened from, as the server saw it.
    address: Option<String>,
    /// When it last got tokens: the verify or its latest refresh.
    last_used_at: DateTime<Utc>,
}

impl From<SessionSummary> for SessionView {
    fn from(s: SessionSummary) -> Self {
        Self {
            id: s.id,
            issued_at: s.issued_at,
            expires_in: seconds_until(s.expires_at),
            expires_at: s.expires_at,
            current: s.current,
            user_agent: s.device.user_agent,
            address: s.device.address,
            last_used_at: s.last_used_at,
        }
    }
}

/// Your live sessions, oldest first.
#[derive(Debug, Object)]
pub struct SessionList {
    /// Neither ended nor expired.
    items: Vec<SessionView>,
}

#[derive(ApiResponse)]
enum Done {
    /// Done.
    #[oai(status = 204)]
    NoContent,
}

#[derive(ApiResponse)]
enum ResetStarted {
    /// If the email has an account, an email with a 6-digit reset code is on its way to it. The
    /// answer is the same either way.
    #[oai(status = 202)]
    Accepted(Json<Challenge>),
}

declare!(PasswordChangeErrors: BODY, SESSION, &[Code::InvalidCredentials, Code::RateLimited, Code::Busy]);
declare!(ResetRequestErrors: BODY, &[Code::RateLimited]);
declare!(ResetConfirmErrors: BODY, &[Code::InvalidCode, Code::CodeExpired, Code::TooManyAttempts, Code::Busy]);
declare!(SessionListErrors: SESSION);
declare!(SessionEndErrors: SESSION, &[Code::SessionNotFound, Code::ValidationFailed]);
declare!(AccountDeletionErrors: BODY, SESSION, &[Code::InvalidCredentials, Code::RateLimited, Code::Busy]);

/// Account operations.
pub struct AccountApi;

#[OpenApi(prefix_path = "/v1/auth", tag = "ApiTags::Account")]
impl AccountApi {
    /// Change your password.
    ///
    /// Needs the current password. Every other session of yours ends (they answer
    /// `session_revoked`); this one lives on. A wrong current password counts as a failed
    /// sign-in.
    #[oai(path = "/password", method = "post", operation_id = "change_password")]
    async fn change_password(
        &self,
        session: SignedIn,
        client: Client,
        body: JsonBody<PasswordChange>,
        auth: poem::web::Data<&Auth>,
    ) -> Result<Done, Failure<PasswordChangeErrors>> {
        let (current, new) = both(
            ("current_password", Password::parse(body.0.current_password)),
            ("new_password", Password::parse(body.0.new_password)),
        )?;
        auth.change_password(&session.0, current, new, client.0)
            .await?;
        Ok(Done::NoContent)
    }

    /// Ask for a password reset code by email.
    ///
    /// If the email has an account, a 6-digit code is emailed to it; send it with a new
    /// password to /v1/auth/password-reset/confirm, with this `challenge_id`. The answer comes
    /// at once and is the same whether or not the account exists; the email follows, and may
    /// take a while when the mail server is slow or failing (it is retried until the code
    /// expires). In rare cases it arrives twice (the same code). Requests are limited per email
    /// and client address, as failed sign-ins are.
    #[oai(
        path = "/password-reset",
        method = "post",
        operation_id = "request_password_reset"
    )]
    async fn request_reset(
        &self,
        client: Client,
        body: JsonBody<ResetRequest>,
        auth: poem::web::Data<&Auth>,
    ) -> Result<ResetStarted, Failure<ResetRequestErrors>> {
        let email = Email::parse(&body.0.email.0).map_err(|e| ApiError::field("email", e.0))?;
        let started = auth.request_reset(email, client.0).await?;
        Ok(ResetStarted::Accepted(Json(Challenge::sent(
            started,
            "If this email has an account, a 6-digit code is being emailed to it; send it with a \
             new password to /v1/auth/password-reset/confirm with this challenge_id.",
        ))))
    }

    /// Set a new password with the emailed reset code.
    ///
    /// Every session of the account ends; log in with the new password. Five wrong codes burn
    /// the challenge. A login code does not work here (nor a reset code at /v1/auth/verify).
    #[oai(
        path = "/password-reset/confirm",
        method = "post",
        operation_id = "confirm_password_reset"
    )]
    async fn confirm_reset(
        &self,
        body: JsonBody<ResetConfirmation>,
        auth: poem::web::Data<&Auth>,
    ) -> Result<Done, Failure<ResetConfirmErrors>> {
        let b = body.0;
        let (challenge, code, new) = three(
            ("challenge_id", ChallengeId::parse(&b.challenge_id)),
            ("code", OtpCode::parse(&b.code)),
            ("new_password", Password::parse(b.new_password)),
        )?;
        auth.confirm_reset(challenge, code, new).await?;
        Ok(Done::NoContent)
    }

    /// List your live sessions.
    ///
    /// Every session neither ended nor expired, oldest first, with where it was opened from;
    /// `current` marks the one making this request.
    #[oai(path = "/sessions", method = "get", operation_id = "list_sessions")]
    async fn sessions(
        &self,
        session: SignedIn,
        auth: poem::web::Data<&Auth>,
    ) -> Result<Json<SessionList>, Failure<SessionListErrors>> {
        let items = auth.sessions(&session.0).await?;
        Ok(Json(SessionList {
            items: items.into_iter().map(SessionView::from).collect(),
        }))
    }

    /// End one of your sessions.
    ///
    /// The session with this id (from GET /v1/auth/sessions) answers `session_revoked` from now
    /// on. An id that is not one of your live sessions is 404 `session_not_found`.
    #[oai(
        path = "/sessions/:id",
        method = "delete",
        operation_id = "end_session"
    )]
    async fn end_session(
        &self,
        session: SignedIn,
        /// A session id from GET /v1/auth/sessions.
        #[oai(
            example = "example_session_id",
            validator(pattern = r"^[A-Za-z0-9_-]{1,64}$")
        )]
        id: Path<String>,
        auth: poem::web::Data<&Auth>,
    ) -> Result<Done, Failure<SessionEndErrors>> {
        let id = SessionId::parse(&id.0).map_err(|e| ApiError::field("id", e.0))?;
        auth.end_session(&session.0, id).await?;
        Ok(Done::NoContent)
    }

    /// Delete your account.
    ///
    /// Needs the password. Your tasks, sessions and pending codes are deleted at once; the
    /// email may register again. A wrong password counts as a failed sign-in.
    #[oai(path = "/account", method = "delete", operation_id = "delete_account")]
    async fn delete_account(
        &self,
        session: SignedIn,
        client: Client,
        body: JsonBody<AccountDeletion>,
        auth: poem::web::Data<&Auth>,
    ) -> Result<Done, Failure<AccountDeletionErrors>> {
        let password =
            Password::parse(body.0.password).map_err(|e| ApiError::field("password", e.0))?;
        auth.delete_account(&session.0, password, client.0).await?;
        Ok(Done::NoContent)
    }
}

fn example_session_id() -> String {
    "paste_session_id_here".into()
}
