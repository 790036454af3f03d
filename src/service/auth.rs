//! Sign-in: register, password check with an emailed code, opening and checking sessions.
//! The rest of an account's life is in `account.rs` (passwords, deletion) and `sessions.rs`
//! (listing and ending sessions).

use super::credentials::{Keys, PasswordHasher};
use super::limits::Limits;
use super::revocations::{Revocations, Standing};
use super::session::{Session, SessionIssued};
use super::session_cache::SessionCache;
use super::sessions::LogoutTarget;
use super::{ServiceError, codes, now, now_ms};
use crate::config::SignInLimits;
use crate::domain::Device;
use crate::domain::{ChallengeId, Email, OtpCode, Password, SessionId, SessionToken};
use crate::mail::{CodePurpose, Mailer};
use crate::store::{
    self, Challenge, Purpose, RefreshState, Revoked, SessionRow, Signal, Store, StoreError,
};
use chrono::{DateTime, Utc};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Wrong codes allowed per challenge; the fifth wrong one burns it.
pub(super) const CODE_ATTEMPTS: u32 = 5;

/// The client's address as far as the server can tell (for per-address rate limits).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

/// A login waiting for its code.
#[derive(Debug, Clone)]
pub struct LoginStarted {
    /// Pass this back with the code.
    pub challenge_id: ChallengeId,
    /// When the code stops working.
    pub expires_at: DateTime<Utc>,
}

/// A registered account as shown to its owner.
#[derive(Debug, Clone)]
pub struct Account {
    /// User id.
    pub id: i64,
    /// Email.
    pub email: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// The sign-in service.
#[derive(Clone)]
pub struct Auth {
    pub(super) store: Store,
    pub(super) mailer: Arc<Mailer>,
    /// Wakes the reset-mail worker ([`super::mail_queue`]) when an email is queued.
    pub(super) mail_queued: Arc<Notify>,
    pub(super) keys: Keys,
    pub(super) hasher: PasswordHasher,
    pub(super) limits: Arc<Limits>,
    /// Sessions this process has seen, when it is the only one writing the database; with
    /// several processes another may revoke a session at any moment, so each check reads it.
    pub(super) sessions: Option<Arc<SessionCache>>,
    /// Logouts answered 503 that the database has yet to store.
    pub(super) revocations: Arc<Revocations>,
    /// Live sign-ins one user may hold; a new one past it ends the oldest.
    max_sessions: Option<u32>,
    pub(super) session_ttl: Duration,
    /// Refresh-token life (sliding); `None`: no refresh tokens.
    pub(super) refresh_ttl: Option<Duration>,
    /// A sign-in's absolute life from its verify, however often refreshed.
    pub(super) signin_max_age: Duration,
    pub(super) otp_ttl: Duration,
    /// An event ticket's life ([`super::tickets::TICKET_TTL`]; shorter only in unit tests).
    pub(super) ticket_ttl: Duration,
}

/// What [`Auth::new`] needs besides storage and mail.
pub struct AuthSettings {
    /// Server secret for keyed hashes.
    pub secret: Vec<u8>,
    /// Session (access token) life.
    pub session_ttl: Duration,
    /// Refresh-token life (sliding); `None`: no refresh tokens.
    pub refresh_ttl: Option<Duration>,
    /// A sign-in's absolute life from its verify.
    pub signin_max_age: Duration,
    /// Code life.
    pub otp_ttl: Duration,
    /// Budgets for failed sign-ins and wrong codes.
    pub limits: SignInLimits,
    /// Threads that hash passwords (at least one).
    pub hash_concurrency: usize,
    /// Live sign-ins one user may hold (`None`: no limit).
    pub sessions_per_user: Option<u32>,
}

impl Auth {
    /// Builds the service.
    pub fn new(store: Store, mailer: Arc<Mailer>, settings: AuthSettings) -> Self {
        Self {
            mailer,
            mail_queued: Arc::new(Notify::new()),
            keys: Keys::derive(&settings.secret),
            hasher: PasswordHasher::new(settings.hash_concurrency),
            sessions: store.exclusive().then(|| Arc::new(SessionCache::new())),
            revocations: Arc::default(),
            max_sessions: settings.sessions_per_user,
            limits: Arc::new(Limits::new(store.clone(), settings.limits)),
            store,
            session_ttl: settings.session_ttl,
            refresh_ttl: settings.refresh_ttl,
            signin_max_age: settings.signin_max_age,
            otp_ttl: settings.otp_ttl,
            ticket_ttl: super::tickets::TICKET_TTL,
        }
    }

    /// Creates an account.
    pub async fn register(
        &self,
        email: Email,
        password: Password,
        client: ClientAddr,
    ) -> Result<Account, ServiceError> {
        self.limits.check_register(client.0).await?;
        let hash = self.hasher.hash(password).await?;
        let inserted = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    Ok::<_, ServiceError>(tx.insert_user(email.as_str(), &hash, now_ms()).await?)
                })
            })
            .await?;
        let Some(user) = inserted else {
            self.limits.register_failed(client.0).await?;
            return Err(ServiceError::EmailTaken);
        };
        tracing::info!(user_id = user.id, "account registered");
        Ok(Account {
            id: user.id,
            email: user.email,
            created_at: user.created_at,
        })
    }

    /// Checks the password and emails a one-time code; the challenge exists only once the email left.
    pub async fn login(
        &self,
        email: Email,
        password: Password,
        client: ClientAddr,
    ) -> Result<LoginStarted, ServiceError> {
        self.limits.check_login(&email, client.0).await?;
        let lookup = email.clone();
        let user = self
            .store
            .read(move |tx| {
                Box::pin(
                    async move { Ok::<_, ServiceError>(tx.user_by_email(lookup.as_str()).await?) },
                )
            })
            .await?;
        let (user_id, phc) = match user {
            Some(u) => (Some(u.id), Some(u.password_hash)),
            None => (None, None),
        };
        let matches = self.hasher.verify(password, phc).await?;
        let Some(user_id) = user_id.filter(|_| matches) else {
            tracing::info!("login refused: invalid credentials");
            self.limits.login_failed(&email, client.0).await?;
            return Err(ServiceError::InvalidCredentials);
        };
        // Past the code budget no new challenge is opened: a stolen password buys at most
        // that many guesses an hour.
        self.limits.check_codes(user_id).await.inspect_err(|_| {
            tracing::warn!(user_id, "login refused: too many wrong codes this hour");
        })?;

        let challenge_id = ChallengeId::generate();
        let code = OtpCode::generate();
        self.send_code(CodePurpose::SignIn, &email, &code).await?;

        let expires_at = now() + self.otp_ttl;
        let row = Challenge {
            purpose: Purpose::Login,
            user_id: Some(user_id),
            email: None,
            code_hash: self.keys.code_hash(&challenge_id, &code),
            attempts_left: CODE_ATTEMPTS,
            expires_at_ms: store::to_millis(expires_at),
        };
        let id = challenge_id.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    // One live challenge per account: the older ones now answer `code_expired`.
                    tx.end_challenges_of(user_id, Some(Purpose::Login), now_ms())
                        .await?;
                    Ok::<_, ServiceError>(tx.insert_challenge(id.as_str(), &row).await?)
                })
            })
            .await?;
        tracing::info!(user_id, "login challenge issued");
        Ok(LoginStarted {
            challenge_id,
            expires_at,
        })
    }

    /// Trades a login challenge and its code for a session; a code works once. `device` is
    /// kept with the session to show its owner where it was opened.
    pub async fn verify(
        &self,
        challenge_id: ChallengeId,
        code: OtpCode,
        device: Device,
    ) -> Result<SessionIssued, ServiceError> {
        let offered = self.keys.code_hash(&challenge_id, &code);
        let id = SessionId::generate();
        let id_bytes = id
            .bytes()
            .ok_or_else(|| StoreError::corrupt("a session id"))?;
        // Random, with or without refresh tokens: the database keeps only its keyed hash.
        let token = SessionToken::generate();
        let token_hash = self.keys.token_hash(&token);
        let refresh = self.refresh_ttl.map(|ttl| {
            let token = self.keys.refresh_token(&id_bytes, 0);
            (self.keys.refresh_hash(&token), token, ttl)
        });
        let chain = refresh.as_ref().map(|(hash, _, ttl)| (*hash, *ttl));
        let ttl = self.session_ttl;
        let max_age = self.signin_max_age;
        let max_sessions = self.max_sessions;
        let codes_per_hour = self.limits.codes_per_hour();
        let outcome = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let now = now();
                    let now_ms = store::to_millis(now);
                    let redeemed = codes::redeem(
                        tx,
                        &challenge_id,
                        &offered,
                        Purpose::Login,
                        codes_per_hour,
                        now_ms,
                    )
                    .await?;
                    let user_id = match redeemed.map(|c| c.user_id) {
                        Ok(Some(user_id)) => user_id,
                        Ok(None) => {
                            return Err(StoreError::corrupt("a login without its user").into());
                        }
                        Err(refused) => return Ok(Err(refused)),
                    };
                    let state = chain.map(|(refresh_hash, refresh_ttl)| {
                        let max_age_at_ms = store::to_millis(now + max_age);
                        RefreshState {
                            generation: 0,
                            refresh_hash,
                            parent_hash: None,
                            grand_hash: None,
                            rotated_at_ms: now_ms,
                            parent_rotated_at_ms: None,
                            refresh_expires_at_ms: store::to_millis(now + refresh_ttl)
                                .min(max_age_at_ms),
                            max_age_at_ms,
                            // Nothing spent yet: nothing to seal.
                            pair_for_parent: None,
                            pair_for_grand: None,
                            parent_key_wrap: None,
                        }
                    });
                    let mut expires_at_ms = store::to_millis(now + ttl);
                    if let Some(state) = &state {
                        expires_at_ms = expires_at_ms.min(state.refresh_expires_at_ms);
                    }
                    let user = tx
                        .user_by_id(user_id)
                        .await?
                        .ok_or_else(|| StoreError::corrupt("challenge without its user"))?;
                    let row = SessionRow {
                        id: id.as_str().to_owned(),
                        user_id,
                        email: user.email,
                        default_list_id: user.default_list_id,
                        issued_at_ms: now_ms,
                        expires_at_ms,
                        ends_at_ms: state
                            .as_ref()
                            .map_or(expires_at_ms, |s| s.refresh_expires_at_ms),
                        revoked: false,
                    };
                    tx.insert_session(&token_hash, &row, &device).await?;
                    if let Some(state) = &state {
                        tx.set_sign_in_tokens(&row.id, &token_hash, expires_at_ms, state, now_ms)
                            .await?;
                    }
                    let ended = end_oldest_past(tx, user_id, max_sessions, now_ms).await?;
                    tracing::info!(user_id, oldest_ended = ended.len(), "session opened");
                    Ok::<_, ServiceError>(Ok((row, ended)))
                })
            })
            .await?;
        let (row, ended) = outcome?;
        self.forget_sessions(&ended);
        let expires_at = store::from_millis(row.expires_at_ms)?;
        let refresh = match refresh {
            Some((_, token, _)) => Some((token, store::from_millis(row.ends_at_ms)?)),
            None => None,
        };
        if let Some(cache) = &self.sessions {
            cache.remember(token_hash, row);
        }
        Ok(SessionIssued {
            token,
            expires_at,
            refresh,
        })
    }

    /// Resolves a bearer token to its live session.
    pub async fn authenticate(&self, raw_token: &str) -> Result<Session, ServiceError> {
        let token = SessionToken::parse(raw_token).map_err(|_| ServiceError::SessionInvalid)?;
        self.session_of(self.keys.token_hash(&token)).await
    }

    /// Resolves the bearer token of a logout: a live session, or a token whose earlier logout
    /// answered 503 (still waiting to be stored, or stored since).
    pub async fn authenticate_logout(&self, raw_token: &str) -> Result<LogoutTarget, ServiceError> {
        let token = SessionToken::parse(raw_token).map_err(|_| ServiceError::SessionInvalid)?;
        let token_hash = self.keys.token_hash(&token);
        let row = self.row_of(token_hash).await?;
        if let Standing::Pending(number) = self.revocations.standing(&row, &token_hash) {
            return Ok(LogoutTarget::Waiting(number));
        }
        if row.revoked && self.revocations.settled(&token_hash) {
            return Ok(LogoutTarget::Settled);
        }
        self.check(&row, token_hash).map(LogoutTarget::Live)
    }

    async fn session_of(&self, token_hash: [u8; 32]) -> Result<Session, ServiceError> {
        let row = self.row_of(token_hash).await?;
        self.check(&row, token_hash)
    }

    /// The session row of a token: from memory when this process keeps sessions, else stored.
    async fn row_of(&self, token_hash: [u8; 32]) -> Result<Arc<SessionRow>, ServiceError> {
        if let Some(row) = self.sessions.as_ref().and_then(|c| c.get(&token_hash)) {
            return Ok(row);
        }
        let stored = self.stored_row(token_hash).await?;
        match &self.sessions {
            // Replaced by a refresh since it was read: the token is unknown now.
            Some(cache) => cache
                .remember(token_hash, stored)
                .ok_or(ServiceError::SessionInvalid),
            None => Ok(Arc::new(stored)),
        }
    }

    async fn stored_row(&self, token_hash: [u8; 32]) -> Result<SessionRow, ServiceError> {
        // One statement: on PostgreSQL one round trip, not a transaction's three.
        self.store
            .session(token_hash)
            .await?
            .ok_or(ServiceError::SessionInvalid)
    }

    /// The session a row stands for, or why it is refused.
    fn check(&self, row: &SessionRow, token_hash: [u8; 32]) -> Result<Session, ServiceError> {
        if row.revoked || self.revocations.standing(row, &token_hash) != Standing::Clear {
            return Err(ServiceError::SessionRevoked);
        }
        if now_ms() >= row.expires_at_ms {
            return Err(ServiceError::SessionExpired);
        }
        Ok(Session {
            id: row.id.clone(),
            user_id: row.user_id,
            email: row.email.clone(),
            default_list_id: row.default_list_id,
            issued_at: store::from_millis(row.issued_at_ms)?,
            expires_at: store::from_millis(row.expires_at_ms)?,
            ends_at: store::from_millis(row.ends_at_ms.max(row.expires_at_ms))?,
            token_hash,
        })
    }

    /// Emails a login code and waits until the server has it.
    async fn send_code(
        &self,
        purpose: CodePurpose,
        to: &Email,
        code: &OtpCode,
    ) -> Result<(), ServiceError> {
        self.mailer
            .send_code(purpose, to, code, self.otp_ttl)
            .await
            .map_err(ServiceError::EmailUnavailable)
    }

    /// Marks sessions dead in this process's memory once the database revoked them; a read
    /// racing the revocation cannot bring them back to life.
    pub(super) fn forget_sessions(&self, revoked: &[Revoked]) {
        if let Some(cache) = &self.sessions {
            for r in revoked {
                cache.revoke_hash(r.token_hash, r.expires_at_ms);
            }
        }
    }

    /// Marks one session dead in memory before the database is told, so no request on this
    /// process passes it meanwhile.
    pub(super) fn forget_session(&self, session: &Session) {
        if let Some(cache) = &self.sessions {
            cache.revoke(session.token_hash, session.as_row());
        }
    }

    /// Forgets sessions that expired before `cutoff_ms` from memory (called by the sweeper;
    /// the database still answers for them).
    pub fn forget_idle(&self, cutoff_ms: i64) {
        if let Some(cache) = &self.sessions {
            cache.forget_expired(cutoff_ms);
        }
        self.revocations.forget_expired();
    }
}

/// Ends the user's oldest live sessions past `limit` (the one just opened is the newest);
/// returns those it ended.
async fn end_oldest_past(
    tx: &mut dyn store::Tx,
    user_id: i64,
    limit: Option<u32>,
    now_ms: i64,
) -> Result<Vec<Revoked>, ServiceError> {
    let Some(limit) = limit else {
        return Ok(Vec::new());
    };
    let live = tx.live_sessions(user_id, now_ms).await?;
    let mut ended = Vec::new();
    for oldest in live.iter().take(live.len().saturating_sub(limit as usize)) {
        ended.extend(tx.revoke_session_by_id(user_id, &oldest.id, now_ms).await?);
    }
    if !ended.is_empty() {
        // Their event streams close.
        tx.announce(user_id, Signal::SessionsEnded).await?;
    }
    Ok(ended)
}
