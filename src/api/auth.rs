//! `/v1/auth/*` for signing in: register, login, verify, logout, session. The rest of an
//! account (passwords, sessions, deletion) is in `account.rs`.

use super::ApiTags;
use super::client::{Client, UserAgent};
use super::email::EmailField;
use super::json::JsonBody;
use super::problem::{ApiError, BODY, Code, Failure, SESSION, both, declare};
use super::security::{LoggingOut, SignedIn};
use crate::domain::{ChallengeId, Device, Email, OtpCode, Password};
use crate::service::{Auth, LoginStarted, LogoutScope, SessionIssued};
use chrono::{DateTime, Utc};
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde::Deserialize;

// Debug is not derived on bodies holding a password or a code, so neither can reach a log line.

/// Email and password, for register and login.
#[derive(Object, Deserialize)]
#[oai(deny_unknown_fields, example)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// An email address; stored lower-cased. At most 254 characters, 64 before the `@`;
    /// spaces around are taken off.
    email: EmailField,
    /// 8 to 128 characters.
    #[oai(validator(min_length = 8, max_length = 128))]
    password: String,
}

impl Example for Credentials {
    fn example() -> Self {
        Self {
            email: EmailField("ada@example.com".into()),
            password: "correct horse battery".into(),
        }
    }
}

impl Credentials {
    fn parse(self) -> Result<(Email, Password), ApiError> {
        both(
            ("email", Email::parse(&self.email.0)),
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

/// A code was emailed: the challenge it answers.
#[derive(Debug, Object)]
pub struct Challenge {
    /// Send this back with the code (to /v1/auth/verify after a login, to
    /// /v1/auth/password-reset/confirm after a reset request).
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
    pub(super) challenge_id: String,
    /// The 6 digits from the email.
    #[oai(validator(pattern = r"^[0-9]{6}$"))]
    pub(super) code: String,
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

/// A new access token, and (unless the server turned them off) a refresh token.
#[derive(Debug, Object)]
pub struct AccessToken {
    /// Send as `Authorization: Bearer <access_token>`.
    access_token: String,
    /// Always `Bearer`.
    token_type: String,
    /// Seconds until the access token expires.
    expires_in: i64,
    /// When the access token expires (absolute, not extended by use).
    expires_at: DateTime<Utc>,
    /// Trade it at `POST /v1/auth/refresh` for a new pair before `refresh_expires_at`; each
    /// works once. Keep it secret: it is the sign-in. Absent when the server issues none
    /// (`LISTO_REFRESH_TTL=0`).
    #[oai(skip_serializing_if_is_none)]
    refresh_token: Option<String>,
    /// Seconds until the refresh token expires.
    #[oai(skip_serializing_if_is_none)]
    refresh_expires_in: Option<i64>,
    /// When the refresh token expires (each refresh issues one that lives longer, up to the
    /// sign-in's maximum age).
    #[oai(skip_serializing_if_is_none)]
    refresh_expires_at: Option<DateTime<Utc>>,
}

impl From<SessionIssued> for AccessToken {
    fn from(issued: SessionIssued) -> Self {
        let (refresh_token, refresh_expires_at) = match issued.refresh {
            Some((token, at)) => (Some(token.encode()), Some(at)),
            None => (None, None),
        };
        Self {
            access_token: issued.token.encode(),
            token_type: "Bearer".into(),
            expires_in: seconds_until(issued.expires_at),
            expires_at: issued.expires_at,
            refresh_token,
            refresh_expires_in: refresh_expires_at.map(seconds_until),
            refresh_expires_at,
        }
    }
}

/// A refresh token from verify or an earlier refresh.
#[derive(Object, Deserialize)]
#[oai(deny_unknown_fields, example)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The `refresh_token` of the latest answer from `/v1/auth/verify` or `/v1/auth/refresh`.
    #[oai(validator(max_length = 200))]
    refresh_token: String,
}

impl Example for RefreshRequest {
    fn example() -> Self {
        // Only a verify's answer carries a real one.
        Self {
            refresh_token: "paste_refresh_token_from_verify".into(),
        }
    }
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

impl Challenge {
    /// The answer to a request that emailed a code.
    pub(super) fn sent(started: LoginStarted, detail: &str) -> Self {
        Self {
            challenge_id: started.challenge_id.as_str().to_owned(),
            expires_at: started.expires_at,
            detail: detail.into(),
        }
    }
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
declare!(RefreshErrors: BODY, &[Code::RefreshInvalid, Code::RefreshReused, Code::RateLimited]);
declare!(SessionErrors: SESSION);
declare!(LogoutErrors: SESSION, &[Code::ValidationFailed]);

/// Which sessions a logout ends.
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "lowercase")]
pub enum Scope {
    /// This session (the default).
    Local,
    /// Every other session of yours.
    Others,
    /// All your sessions, this one included.
    Global,
}

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
        Ok(LoginAccepted::Accepted(Json(Challenge::sent(
            started,
            "A 6-digit code was emailed; send it to /v1/auth/verify with this challenge_id.",
        ))))
    }

    /// Trade the emailed code for an access token.
    ///
    /// Send the `challenge_id` from the login answer and the 6 digits from the email. A code
    /// works once; five wrong codes burn the challenge. The token goes in
    /// `Authorization: Bearer <access_token>` until `expires_at`; then trade the
    /// `refresh_token` for a new pair at `/v1/auth/refresh`.
    #[oai(path = "/verify", method = "post", operation_id = "verify")]
    async fn verify(
        &self,
        client: Client,
        agent: UserAgent,
        body: JsonBody<CodeSubmission>,
        auth: poem::web::Data<&Auth>,
    ) -> Result<Json<AccessToken>, Failure<VerifyErrors>> {
        let (challenge, code) = both(
            ("challenge_id", ChallengeId::parse(&body.0.challenge_id)),
            ("code", OtpCode::parse(&body.0.code)),
        )?;
        let device = Device::new(agent.0.as_deref(), client.0.0);
        let issued = auth.verify(challenge, code, device).await?;
        Ok(Json(issued.into()))
    }

    /// Trade a refresh token for a new access token and refresh token.
    ///
    /// Send the `refresh_token` of the latest verify or refresh answer. The answer has the
    /// shape of verify's: a new access token and a new refresh token; the one sent is spent.
    /// Sending the spent one again answers the current pair if it is the current one's parent
    /// (an answer that was lost), or if it was spent less than 10 s ago (two tabs refreshing at
    /// once); otherwise it is taken as stolen: the whole sign-in ends, every token of it is
    /// refused, and the answer is 401 `refresh_reused`. An unknown, expired or ended refresh
    /// token answers 401 `refresh_invalid`: log in again.
    #[oai(path = "/refresh", method = "post", operation_id = "refresh")]
    async fn refresh(
        &self,
        client: Client,
        body: JsonBody<RefreshRequest>,
        auth: poem::web::Data<&Auth>,
    ) -> Result<Json<AccessToken>, Failure<RefreshErrors>> {
        let issued = auth.refresh(&body.0.refresh_token, client.0).await?;
        Ok(Json(issued.into()))
    }

    /// End sessions on the server: this one, the others, or all.
    ///
    /// `scope=local` (the default) ends this session, `others` every other session of yours
    /// (other devices), `global` all of them. An ended token answers `session_revoked` from now
    /// on, on every listo process. 204 means the logout is stored; if storing fails the answer
    /// is 503 `unavailable`: the token is already refused here, the server keeps trying, and
    /// the same logout sent again answers 503 until it is stored and 204 after.
    #[oai(path = "/logout", method = "post", operation_id = "logout")]
    async fn logout(
        &self,
        session: LoggingOut,
        /// Which sessions to end: `local` (this one), `others`, `global`.
        #[oai(example = "scope_example")]
        scope: Query<Option<Scope>>,
        auth: poem::web::Data<&Auth>,
    ) -> Result<LoggedOut, Failure<LogoutErrors>> {
        let scope = match scope.0.unwrap_or(Scope::Local) {
            Scope::Local => LogoutScope::Local,
            Scope::Others => LogoutScope::Others,
            Scope::Global => LogoutScope::Global,
        };
        auth.logout(session.0, scope).await?;
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

fn scope_example() -> Option<Scope> {
    Some(Scope::Local)
}

/// Whole seconds from now until `t`, rounded up so a live session never reports 0.
pub(super) fn seconds_until(t: DateTime<Utc>) -> i64 {
    let ms = (t - Utc::now()).num_milliseconds().max(0);
    (ms + 999) / 1000
}
