//! `/v1/auth/*`: register, login, verify, logout, session.

use super::ApiTags;
use super::client::Client;
use super::json::JsonBody;
use super::problem::{
    ApiError, Failure, INTERNAL, MALFORMED, MEDIA_TYPE, SESSION, TOO_LARGE, VALIDATION, both,
    declare,
};
use super::security::SignedIn;
use crate::domain::{ChallengeId, Email, OtpCode, Password};
use crate::service::Auth;
use chrono::{DateTime, Utc};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

/// Email and password, for register and login (no `Debug`: it would print the password).
#[derive(Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// An email address (lower-cased; at most 254 characters).
    email: String,
    /// 8 to 128 characters.
    password: String,
}

impl Credentials {
    fn parse(self) -> Result<(Email, Password), ApiError> {
        both(
            ("email", Email::parse(&self.email)),
            ("password", Password::parse(self.password)),
        )
    }
}

/// A new account.
#[derive(Debug, Object)]
pub struct Account {
    /// User id.
    id: i64,
    /// The normalised email.
    email: String,
    /// When the account was made.
    created_at: DateTime<Utc>,
}

/// A login waiting for the emailed code.
#[derive(Debug, Object)]
pub struct Challenge {
    /// Send this back to /v1/auth/verify with the code.
    challenge_id: String,
    /// When the code stops working.
    expires_at: DateTime<Utc>,
    /// What to do next.
    detail: String,
}

/// The code from the email (no `Debug`: it would print the code).
#[derive(Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct CodeSubmission {
    /// From the login response.
    challenge_id: String,
    /// The 6 digits from the email.
    code: String,
}

/// A new session.
#[derive(Debug, Object)]
pub struct AccessToken {
    /// Send as `Authorization: Bearer <access_token>`.
    access_token: String,
    /// Always `Bearer`.
    token_type: String,
    /// Seconds until the session ends.
    expires_in: i64,
    /// When the session ends (absolute, not extended by use).
    expires_at: DateTime<Utc>,
}

/// Who a session belongs to.
#[derive(Debug, Object)]
pub struct SessionUser {
    /// User id.
    id: i64,
    /// Email.
    email: String,
}

/// The current session.
#[derive(Debug, Object)]
pub struct SessionInfo {
    /// The signed-in user.
    user: SessionUser,
    /// When the session was opened.
    issued_at: DateTime<Utc>,
    /// When it ends.
    expires_at: DateTime<Utc>,
    /// Seconds left.
    expires_in: i64,
}

#[derive(ApiResponse)]
enum Registered {
    /// The account exists; log in next.
    #[oai(status = 201)]
    Created(Json<Account>),
}

#[derive(ApiResponse)]
enum LoginAccepted {
    /// The password matched and a 6-digit code was emailed.
    #[oai(status = 202)]
    Accepted(Json<Challenge>),
}

#[derive(ApiResponse)]
enum LoggedOut {
    /// The token is dead on the server.
    #[oai(status = 204)]
    Done,
}

declare!(RegisterErrors:
    MALFORMED,
    (409, "email_taken: an account with this email exists"),
    TOO_LARGE, MEDIA_TYPE, VALIDATION,
    (429, "rate_limited: too many attempts for this email or address; see Retry-After"),
    INTERNAL,
    (503, "busy: too many sign-ins are being checked; see Retry-After"),
);
declare!(LoginErrors:
    MALFORMED,
    (401, "invalid_credentials: unknown email or wrong password (indistinguishable)"),
    TOO_LARGE, MEDIA_TYPE, VALIDATION,
    (429, "rate_limited: too many attempts for this email or address; see Retry-After"),
    INTERNAL,
    (503, "email_unavailable: the code could not be emailed, nothing was stored; or busy: too many sign-ins are being checked, see Retry-After"),
);
declare!(VerifyErrors:
    MALFORMED,
    (401, "invalid_code (with attempts_left) or code_expired"),
    TOO_LARGE, MEDIA_TYPE, VALIDATION,
    (429, "too_many_attempts: the challenge was burned after 5 wrong codes"),
    INTERNAL,
);
declare!(SessionErrors: SESSION, INTERNAL);

/// Sign-in operations.
pub struct AuthApi;

#[OpenApi(prefix_path = "/v1/auth", tag = "ApiTags::Auth")]
impl AuthApi {
    /// Register an account.
    #[oai(path = "/register", method = "post", operation_id = "register")]
    async fn register(
        &self,
        client: Client,
        body: JsonBody<Credentials>,
        auth: poem::web::Data<&Auth>,
    ) -> Result<Registered, Failure<RegisterErrors>> {
        let (email, password) = body.0.parse()?;
        let account = auth.register(email, password, client.0).await?;
        Ok(Registered::Created(Json(Account {
            id: account.id,
            email: account.email,
            created_at: account.created_at,
        })))
    }

    /// Check email and password, and email a 6-digit one-time code.
    #[oai(path = "/login", method = "post", operation_id = "login")]
    async fn login(
        &self,
        client: Client,
        body: JsonBody<Credentials>,
        auth: poem::web::Data<&Auth>,
    ) -> Result<LoginAccepted, Failure<LoginErrors>> {
        let (email, password) = body.0.parse()?;
        let started = auth.login(email, password, client.0).await?;
        Ok(LoginAccepted::Accepted(Json(Challenge {
            challenge_id: started.challenge_id.as_str().to_owned(),
            expires_at: started.expires_at,
            detail:
                "A 6-digit code was emailed; send it to /v1/auth/verify with this challenge_id."
                    .into(),
        })))
    }

    /// Trade the emailed code for an access token (a code works once).
    #[oai(path = "/verify", method = "post", operation_id = "verify")]
    async fn verify(
        &self,
        body: JsonBody<CodeSubmission>,
        auth: poem::web::Data<&Auth>,
    ) -> Result<Json<AccessToken>, Failure<VerifyErrors>> {
        let (challenge, code) = both(
            ("challenge_id", ChallengeId::parse(&body.0.challenge_id)),
            ("code", OtpCode::parse(&body.0.code)),
        )?;
        let issued = auth.verify(challenge, code).await?;
        Ok(Json(AccessToken {
            access_token: issued.token.encode(),
            token_type: "Bearer".into(),
            expires_in: seconds_until(issued.expires_at),
            expires_at: issued.expires_at,
        }))
    }

    /// End the session on the server.
    #[oai(path = "/logout", method = "post", operation_id = "logout")]
    async fn logout(
        &self,
        session: SignedIn,
        auth: poem::web::Data<&Auth>,
    ) -> Result<LoggedOut, Failure<SessionErrors>> {
        auth.logout(session.0).await?;
        Ok(LoggedOut::Done)
    }

    /// Who is signed in, and until when.
    #[oai(path = "/session", method = "get", operation_id = "get_session")]
    async fn session(
        &self,
        session: SignedIn,
    ) -> Result<Json<SessionInfo>, Failure<SessionErrors>> {
        let s = session.0;
        Ok(Json(SessionInfo {
            user: SessionUser {
                id: s.user_id,
                email: s.email,
            },
            issued_at: s.issued_at,
            expires_in: seconds_until(s.expires_at),
            expires_at: s.expires_at,
        }))
    }
}

/// Whole seconds from now until `t`, rounded up so a live session never reports 0.
fn seconds_until(t: DateTime<Utc>) -> i64 {
    let ms = (t - Utc::now()).num_milliseconds().max(0);
    (ms + 999) / 1000
}
