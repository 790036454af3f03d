//! `/v1/auth/*`: register, login, verify, logout, session.

use super::ApiTags;
use super::client::Client;
use super::json::JsonBody;
use super::problem::{ApiError, BODY, Code, Failure, SESSION, both, declare};
use super::security::SignedIn;
use crate::domain::{ChallengeId, Email, OtpCode, Password};
use crate::service::Auth;
use chrono::{DateTime, Utc};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

// Debug is not derived on bodies holding a password or a code, so neither can reach a log line.

/// Email and password, for register and login.
#[derive(Object, Deserialize)]
#[oai(deny_unknown_fields, example)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// An email address; stored lower-cased.
    // The pattern is a safe subset of what `Email::parse` accepts: ASCII, a local part of at
    // most 64 characters (up to three dot-separated atoms: a regex cannot count across them),
    // domain labels of at most 63. Anything it allows, the server takes.
    #[oai(validator(
        max_length = 254,
        pattern = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,32}(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,15}){0,2}@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
    ))]
    email: String,
    /// 8 to 128 characters.
    #[oai(validator(min_length = 8, max_length = 128))]
    password: String,
}

impl Example for Credentials {
    fn example() -> Self {
        Self {
            email: "ada@example.com".into(),
            password: "correct horse battery".into(),
        }
    }
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

/// The code from the email, with the challenge it answers.
#[derive(Object, Deserialize)]
#[oai(deny_unknown_fields, example)]
#[serde(deny_unknown_fields)]
pub struct CodeSubmission {
    /// The `challenge_id` the login answered with.
    #[oai(validator(pattern = r"^[A-Za-z0-9_-]{22}$"))]
    challenge_id: String,
    /// The 6 digits from the email.
    #[oai(validator(pattern = r"^[0-9]{6}$"))]
    code: String,
}

impl Example for CodeSubmission {
    fn example() -> Self {
        // A challenge id is a secret only the login's answer carries: no example can know it.
        Self {
            challenge_id: "paste_challenge_id_now".into(),
            code: "123456".into(),
        }
    }
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

/// The current session: `user` is the signed-in user.
#[derive(Debug, Object)]
pub struct SessionInfo {
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

declare!(RegisterErrors: BODY, &[Code::EmailTaken, Code::RateLimited, Code::Busy]);
declare!(LoginErrors: BODY, &[Code::InvalidCredentials, Code::RateLimited, Code::EmailUnavailable, Code::Busy]);
declare!(VerifyErrors: BODY, &[Code::InvalidCode, Code::CodeExpired, Code::TooManyAttempts]);
declare!(SessionErrors: SESSION);

/// Sign-in operations.
pub struct AuthApi;

#[OpenApi(prefix_path = "/v1/auth", tag = "ApiTags::Auth")]
impl AuthApi {
    /// Register an account.
    ///
    /// Creates an account for an email and a password. The email is stored lower-cased; the
    /// password only as an argon2id hash. Then log in with the same pair.
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
    ///
    /// An unknown email and a wrong password get the same answer in the same time. On success
    /// a code is emailed and the answer carries the `challenge_id` to verify it with; a newer
    /// login ends the older one. Failed sign-ins are limited per email and client address.
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

    /// Trade the emailed code for an access token.
    ///
    /// Send the `challenge_id` from the login answer and the 6 digits from the email. A code
    /// works once; five wrong codes burn the challenge. The token goes in
    /// `Authorization: Bearer <access_token>` until `expires_at`.
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
    ///
    /// The token answers `session_revoked` from now on, everywhere.
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
    ///
    /// Sessions last a fixed time from issue; using one does not extend it.
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
