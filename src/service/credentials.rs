//! Secrets at rest: argon2id for passwords, keyed blake3 for tokens and codes.

use super::ServiceError;
use crate::domain::{ChallengeId, OtpCode, Password, SessionToken};
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _, phc::PasswordHash};
use std::sync::{Arc, OnceLock};
use tokio::sync::Semaphore;

/// Keys for hashing tokens and codes, derived from the server secret.
#[derive(Clone)]
pub struct Keys {
    token: [u8; 32],
    code: [u8; 32],
}

impl Keys {
    /// Separate keys per purpose, so a token hash can never be replayed as a code hash.
    pub fn derive(secret: &[u8]) -> Self {
        Self {
            token: blake3::derive_key("listo 2026-11 session token hash", secret),
            code: blake3::derive_key("listo 2026-11 one-time code hash", secret),
        }
    }

    /// What the database stores for a session token.
    pub fn token_hash(&self, token: &SessionToken) -> [u8; 32] {
        *blake3::keyed_hash(&self.token, token.as_bytes()).as_bytes()
    }

    /// What the database stores for a code; bound to its challenge so hashes cannot be reused.
    pub fn code_hash(&self, challenge: &ChallengeId, code: &OtpCode) -> [u8; 32] {
        let mut hasher = blake3::Hasher::new_keyed(&self.code);
        hasher.update(challenge.as_str().as_bytes());
        hasher.update(b":");
        hasher.update(code.expose().as_bytes());
        *hasher.finalize().as_bytes()
    }
}

/// Argon2id with the crate defaults (m=19 MiB, t=2, p=1: OWASP's figures), run on the blocking
/// pool and at most `permits` at once, so a login storm cannot take every core from other requests.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    dummy: Arc<OnceLock<String>>,
}

impl PasswordHasher {
    /// A hasher running at most `concurrency` hashes at a time.
    pub fn new(concurrency: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy: Arc::new(OnceLock::new()),
        }
    }

    /// A PHC string with a fresh random salt.
    pub async fn hash(&self, password: Password) -> Result<String, ServiceError> {
        self.blocking(move || hash(password.expose())).await?
    }

    /// Checks `password` against `phc`; with no account (`None`) it checks against a dummy hash,
    /// so an unknown email costs the same time as a wrong password.
    pub async fn verify(
        &self,
        password: Password,
        phc: Option<String>,
    ) -> Result<bool, ServiceError> {
        let dummy = self.dummy.clone();
        self.blocking(move || {
            let known = phc.is_some();
            let phc = match phc {
                Some(phc) => phc,
                None => match dummy.get() {
                    Some(d) => d.clone(),
                    None => {
                        let d = hash("listo dummy password for timing")?;
                        dummy.get_or_init(|| d).clone()
                    }
                },
            };
            let parsed =
                PasswordHash::new(&phc).map_err(|e| ServiceError::Hashing(e.to_string()))?;
            let matches = Argon2::default()
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok();
            Ok(known && matches)
        })
        .await?
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ServiceError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| ServiceError::Hashing(e.to_string()))?;
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(f))
            .await
            .map_err(|e| ServiceError::Hashing(e.to_string()))
    }
}

fn hash(password: &str) -> Result<String, ServiceError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Hashing(e.to_string()))
}
